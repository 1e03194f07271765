import Foundation
import XCTest

/// Every feature of `flow lsp` on the example flows, through the built binary and our own client.
final class FeatureTests: XCTestCase {
    var client: LSPClient!

    override func setUpWithError() throws {
        client = try LSPClient()
        _ = try client.initialize()
    }

    override func tearDownWithError() throws {
        if client.isRunning { XCTAssertEqual(try client.shutdown(), 0) }
        XCTAssertEqual(client.garbage, [])
    }

    func at(_ uri: String, _ position: [String: Int]) -> [String: Any] {
        ["textDocument": ["uri": uri], "position": position]
    }

    /// The location a definition request answers, as (file name, text of the range).
    func definition(_ uri: String, _ text: String, _ needle: String, occurrence: Int = 0, delta: Int = 1) throws -> (file: String, text: String)? {
        let result = try client.request("textDocument/definition", at(uri, Marker.position(in: text, of: needle, occurrence: occurrence, delta: delta)))
        guard let location = result as? [String: Any], let target = location["uri"] as? String,
              let range = location["range"] as? [String: Any] else { return nil }
        let path = URL(string: target)!.path
        let content = try String(contentsOfFile: path, encoding: .utf8)
        return ((path as NSString).lastPathComponent, Marker.text(content, range))
    }

    /// The line of a definition (0-based) in its file.
    func definitionLine(_ uri: String, _ text: String, _ needle: String, occurrence: Int = 0, delta: Int = 1) throws -> Int? {
        let result = try client.request("textDocument/definition", at(uri, Marker.position(in: text, of: needle, occurrence: occurrence, delta: delta)))
        return ((result as? [String: Any])?["range"] as? [String: Any]).flatMap { ($0["start"] as? [String: Int])?["line"] }
    }

    func lineOf(_ text: String, _ needle: String) -> Int {
        Marker.position(in: text, of: needle)["line"]!
    }

    // MARK: - Diagnostics

    func testDiagnosticsOnOpenAreFlowChecksAndFollowIncrementalEdits() throws {
        let (uri, text) = try client.open("flows/support.flow")
        XCTAssertEqual(try client.diagnostics(uri, version: 1).count, 0)
        // An incremental edit: `Issue.Product` in the Triage call becomes `Issue.Prodct`.
        var start = Marker.position(in: text, of: "product: Issue.Product", delta: 19)
        var end = start
        end["character"]! += 1
        client.notify("textDocument/didChange", [
            "textDocument": ["uri": uri, "version": 2],
            "contentChanges": [["range": ["start": start, "end": end], "text": ""]],
        ] as [String: Any])
        let diagnostics = try client.diagnostics(uri, version: 2)
        XCTAssertEqual(diagnostics.count, 1, "\(diagnostics)")
        let d = try XCTUnwrap(diagnostics.first)
        let edited = text.replacingOccurrences(of: "product: Issue.Product", with: "product: Issue.Prodct")
        XCTAssertEqual(Marker.text(edited, d["range"] as! [String: Any]), "Prodct")
        // The same id, message and hint as `flow check` on the same text.
        let expected = try FlowCheck.json(edited, name: "support.flow", beside: "flows")
        XCTAssertEqual(expected.count, 1)
        XCTAssertEqual(d["code"] as? String, expected[0]["code"] as? String)
        let message = try XCTUnwrap(d["message"] as? String)
        XCTAssertTrue(message.hasPrefix(expected[0]["message"] as! String), message)
        XCTAssertTrue(message.contains("hint: did you mean 'Issue.Product'?"), message)
        XCTAssertEqual(d["severity"] as? Int, 1)
        // Undo with a full-text change: clean again.
        client.notify("textDocument/didChange", [
            "textDocument": ["uri": uri, "version": 3], "contentChanges": [["text": text]],
        ] as [String: Any])
        XCTAssertEqual(try client.diagnostics(uri, version: 3).count, 0)
        // An insertion in the middle of a line with non-ASCII text before it (UTF-16 positions).
        start = Marker.position(in: text, of: "\"Your case number is {ticket.ticket id}. We", delta: 0)
        end = start
        client.notify("textDocument/didChange", [
            "textDocument": ["uri": uri, "version": 4],
            "contentChanges": [["range": ["start": start, "end": end], "text": "\"é😀\" + "]],
        ] as [String: Any])
        XCTAssertEqual(try client.diagnostics(uri, version: 4).count, 0)
        let hover = try client.request("textDocument/hover", at(uri, Marker.position(in: text, of: "{ticket.ticket id}. We", delta: 1))) as? [String: Any]
        XCTAssertNil(hover, "the hover is at the text inserted, not at 'ticket'")
        let shifted = Marker.position(in: text.replacingOccurrences(of: "\"Your case number is {ticket.ticket id}. We", with: "\"é😀\" + \"Your case number is {ticket.ticket id}. We"),
                                      of: "\"é😀\" + \"Your case number is {ticket", delta: 31)
        let moved = try client.request("textDocument/hover", at(uri, shifted)) as? [String: Any]
        XCTAssertTrue(((moved?["contents"] as? [String: Any])?["value"] as? String ?? "").contains("variable ticket"), "\(String(describing: moved))")
    }

    func testNotesBecomeRelatedInformationAndWarningsKeepTheirSeverity() throws {
        let text = "flow A {\n  set x = 1\n  set x = 2\n  page P {\n    question Q: text\n  }\n  page P {\n    question R: text\n  }\n}\n"
        let (uri, _) = try client.open(FileManager.default.temporaryDirectory.appendingPathComponent("notes-\(getpid()).flow").path, text: text)
        let diagnostics = try client.diagnostics(uri, version: 1)
        let expected = try FlowCheck.json(text, name: "notes.flow", beside: nil)
        XCTAssertEqual(diagnostics.map { $0["code"] as? String }, expected.map { $0["code"] as? String })
        let duplicate = try XCTUnwrap(diagnostics.first { ($0["relatedInformation"] as? [Any])?.isEmpty == false })
        let related = try XCTUnwrap((duplicate["relatedInformation"] as? [[String: Any]])?.first)
        XCTAssertEqual(Marker.text(text, (related["location"] as! [String: Any])["range"] as! [String: Any]), "P")
        XCTAssertEqual(Set(diagnostics.compactMap { $0["severity"] as? Int }), Set(expected.map { $0["severity"] as? String == "error" ? 1 : 2 }))
    }

    func testEditingAnImportedFileRechecksTheFilesThatImportIt() throws {
        let (support, _) = try client.open("flows/support.flow")
        XCTAssertEqual(try client.diagnostics(support, version: 1).count, 0)
        let (common, commonText) = try client.open("flows/lib/common.flow")
        _ = try client.diagnostics(common, version: 1)
        // Unsaved: the sub-flow is renamed in lib/common.flow only.
        client.notify("textDocument/didChange", [
            "textDocument": ["uri": common, "version": 2],
            "contentChanges": [["text": commonText.replacingOccurrences(of: "flow Open Ticket(", with: "flow Open Case(")]],
        ] as [String: Any])
        let diagnostics = try client.waitNotification("textDocument/publishDiagnostics") {
            $0["uri"] as? String == support && !($0["diagnostics"] as? [Any] ?? []).isEmpty
        }["diagnostics"] as! [[String: Any]]
        XCTAssertEqual(diagnostics.count, 1)
        XCTAssertTrue((diagnostics[0]["message"] as? String ?? "").contains("Open Ticket"), "\(diagnostics)")
        // Closing the edited file goes back to what the disk says.
        client.notify("textDocument/didClose", ["textDocument": ["uri": common]])
        _ = try client.waitNotification("textDocument/publishDiagnostics") {
            $0["uri"] as? String == support && ($0["diagnostics"] as? [Any] ?? []).isEmpty
        }
    }

    func testAPlanIsCheckedAsFlowTestChecksIt() throws {
        let (uri, text) = try client.open("flows/payment.flowtest")
        XCTAssertEqual(try client.diagnostics(uri, version: 1).count, 0)
        client.notify("textDocument/didChange", [
            "textDocument": ["uri": uri, "version": 2],
            "contentChanges": [["text": text.replacingOccurrences(of: "result StripeCharge = { \"id\": \"ch_1\"", with: "result StripeCharg = { \"id\": \"ch_1\"")]],
        ] as [String: Any])
        let diagnostics = try client.diagnostics(uri, version: 2)
        XCTAssertEqual(diagnostics.count, 1, "\(diagnostics)")
        XCTAssertTrue((diagnostics[0]["message"] as? String ?? "").contains("did you mean 'StripeCharge'?"), "\(diagnostics)")
    }

    // MARK: - Definition and references

    func testDefinitionOfEveryKindOfName() throws {
        let (support, s) = try client.open("flows/support.flow")
        let (payment, p) = try client.open("flows/payment.flow")
        let (balance, b) = try client.open("flows/balance.flow")
        let (pin, r) = try client.open("flows/retry-pin.flow")
        // Page and question, each part of `Page.Question`.
        XCTAssertEqual(try definitionLine(support, s, "product: Issue.Product", delta: 10), lineOf(s, "page Issue"))
        XCTAssertEqual(try definitionLine(support, s, "product: Issue.Product", delta: 16), lineOf(s, "question Product"))
        // A lone question: both parts of `Embedded Payment.Embedded Payment` go to the question.
        let lone = lineOf(p, "question Embedded Payment")
        XCTAssertEqual(try definitionLine(payment, p, "set amount = Embedded Payment.Embedded Payment", delta: 15), lone)
        XCTAssertEqual(try definitionLine(payment, p, "set amount = Embedded Payment.Embedded Payment", delta: 33), lone)
        // Variables: `result.paid` goes to `output paid`; `result` to where it is bound.
        XCTAssertEqual(try definitionLine(payment, p, "not result.paid", delta: 12), lineOf(p, "output paid"))
        XCTAssertEqual(try definitionLine(payment, p, "not result.paid", delta: 5), lineOf(p, "-> result"))
        XCTAssertEqual(try definitionLine(payment, p, "{amount} on", delta: 2), lineOf(p, "set amount ="))
        // IP, extension, config, secret, parameter.
        XCTAssertEqual(try definitionLine(payment, p, "ip StripeCharge(amount, token", delta: 4), lineOf(p, "ip StripeCharge(amount: currency"))
        XCTAssertEqual(try definitionLine(payment, p, "extension Tokenize ->", delta: 11), lineOf(p, "extension Tokenize(publishable"))
        XCTAssertEqual(try definitionLine(payment, p, "\"{STRIPE_BASE}/v1/charges\"", delta: 3), lineOf(p, "config STRIPE_BASE"))
        XCTAssertEqual(try definitionLine(payment, p, "auth bearer STRIPE_SECRET_KEY", delta: 14), lineOf(p, "secret STRIPE_SECRET_KEY"))
        XCTAssertEqual(try definitionLine(payment, p, "source = token", delta: 10), lineOf(p, "ip StripeCharge(amount: currency"))
        // Labels, from `goto` and from `on error goto`.
        XCTAssertEqual(try definitionLine(balance, b, "on error goto Bank Unavailable", delta: 16), lineOf(b, "  label Bank Unavailable"))
        XCTAssertEqual(try definitionLine(pin, r, "goto Ask PIN", delta: 6), lineOf(r, "label Ask PIN"))
        // Across files: the sub-flow, its parameters, its outputs, and a session variable.
        let open = try XCTUnwrap(try definition(support, s, "call Open Ticket(", delta: 7))
        XCTAssertEqual(open.file, "common.flow")
        XCTAssertEqual(open.text, "Open Ticket")
        XCTAssertEqual(try definition(support, s, "    queue: case queue,", delta: 6)?.text, "queue")
        XCTAssertEqual(try definition(support, s, "{ticket.ticket id}. We", delta: 10).map { "\($0.file) \($0.text)" }, "common.flow ticket id")
        // The mapping `-> (priority: case priority, …)`: the output of Triage and the variable.
        XCTAssertEqual(try definitionLine(support, s, "-> (priority: case priority", delta: 5), lineOf(s, "flow Triage("))
        XCTAssertEqual(try definitionLine(support, s, "if case priority ==", delta: 5), lineOf(s, "-> (priority: case priority"))
        // A test plan's names go to the flow.
        let (plan, t) = try client.open("flows/payment.flowtest")
        XCTAssertEqual(try definition(plan, t, "answer Embedded Payment.Embedded Payment", delta: 8)?.text, "Embedded Payment")
        XCTAssertEqual(try definition(plan, t, "result StripeCharge", delta: 8)?.text, "StripeCharge")
        XCTAssertEqual(try definition(plan, t, "expect called StripeCharge(amount: 4.00, token", delta: 42)?.text, "token")
        XCTAssertEqual(try definition(plan, t, "expect variable amount", delta: 18).map { "\($0.file) \($0.text)" }, "payment.flow amount")
        XCTAssertEqual(try definition(plan, t, "expect refused Embedded Payment.Embedded Payment", delta: 40)?.text, "Embedded Payment")
    }

    func testReferencesAcrossFiles() throws {
        let (common, c) = try client.open("flows/lib/common.flow")
        // `Open Ticket` is declared in lib/common.flow and called from support.flow and named in its plan.
        let refs = try client.request("textDocument/references", [
            "textDocument": ["uri": common], "position": Marker.position(in: c, of: "flow Open Ticket(", delta: 6),
            "context": ["includeDeclaration": true],
        ] as [String: Any]) as? [[String: Any]] ?? []
        let files = refs.map { (URL(string: $0["uri"] as! String)!.path as NSString).lastPathComponent }
        XCTAssertEqual(files.filter { $0 == "common.flow" }.count, 1, "\(files)")
        XCTAssertEqual(files.filter { $0 == "support.flow" }.count, 1, "\(files)")
        XCTAssertEqual(files.filter { $0 == "support.flowtest" }.count, 1, "\(files)")
        // An output: `created.ticket number` reads `output ticket number`.
        let (support, s) = try client.open("flows/support.flow")
        let uses = try client.request("textDocument/references", [
            "textDocument": ["uri": support], "position": Marker.position(in: s, of: "{ticket.ticket id}. We", delta: 10),
            "context": ["includeDeclaration": false],
        ] as [String: Any]) as? [[String: Any]] ?? []
        // Read 7 times in support.flow, set once in common.flow (and named in its plan).
        let inSupport = uses.filter { ($0["uri"] as? String)?.hasSuffix("/support.flow") == true }
        XCTAssertEqual(inSupport.count, s.components(separatedBy: "ticket.ticket id").count - 1, "\(uses)")
        let commonText = try String(contentsOf: LSPClient.packageRoot.appendingPathComponent("flows/lib/common.flow"), encoding: .utf8)
        XCTAssertEqual(uses.filter { ($0["uri"] as? String)?.hasSuffix("/lib/common.flow") == true }.compactMap { ($0["range"] as? [String: Any]).flatMap { ($0["start"] as? [String: Int])?["line"] } },
                       [Marker.position(in: commonText, of: "set ticket id")["line"]!])
    }

    // MARK: - Rename

    func testRenameAcrossFilesAndRefusingAClash() throws {
        let (support, s) = try client.open("flows/support.flow")
        let result = try client.request("textDocument/rename", [
            "textDocument": ["uri": support], "position": Marker.position(in: s, of: "call Open Ticket(", delta: 8), "newName": "Open Case",
        ] as [String: Any]) as? [String: Any]
        let changes = try XCTUnwrap(result?["changes"] as? [String: [[String: Any]]])
        let byFile = Dictionary(uniqueKeysWithValues: changes.map { ((URL(string: $0.key)!.path as NSString).lastPathComponent, $0.value) })
        XCTAssertEqual(byFile["support.flow"]?.count, 1)
        XCTAssertEqual(byFile["common.flow"]?.count, 1)
        XCTAssertEqual(byFile["support.flowtest"]?.count, 1)
        XCTAssertTrue(byFile.values.joined().allSatisfy { $0["newText"] as? String == "Open Case" })
        // Applying the edits gives a file that checks clean, with the rest untouched.
        let edited = apply(byFile["support.flow"]!, to: s)
        XCTAssertEqual(edited, s.replacingOccurrences(of: "call Open Ticket(", with: "call Open Case("))
        // A question renamed: its page's other questions clash, another page's do not.
        let clash = try client.response(client.sendRequest("textDocument/rename", [
            "textDocument": ["uri": support], "position": Marker.position(in: s, of: "question Details", delta: 10), "newName": "Product",
        ] as [String: Any]))
        XCTAssertTrue(((clash["error"] as? [String: Any])?["message"] as? String ?? "").contains("question 'Product' is declared at support.flow"), "\(clash)")
        // A variable may not take a page's name (one namespace per flow) nor a config's.
        for name in ["Issue", "SMS_BASE"] {
            let r = try client.response(client.sendRequest("textDocument/rename", [
                "textDocument": ["uri": support], "position": Marker.position(in: s, of: "-> ticket", delta: 4), "newName": name,
            ] as [String: Any]))
            XCTAssertNotNil(r["error"], "\(name): \(r)")
        }
        let invalid = try client.response(client.sendRequest("textDocument/rename", [
            "textDocument": ["uri": support], "position": Marker.position(in: s, of: "-> ticket", delta: 4), "newName": "2 tickets",
        ] as [String: Any]))
        XCTAssertNotNil(invalid["error"])
        // A lone question renames both parts of `X.X`.
        let (payment, p) = try client.open("flows/payment.flow")
        let lone = try client.request("textDocument/rename", [
            "textDocument": ["uri": payment], "position": Marker.position(in: p, of: "question Embedded Payment", delta: 10), "newName": "Amount",
        ] as [String: Any]) as? [String: Any]
        let paymentEdits = try XCTUnwrap((lone?["changes"] as? [String: [[String: Any]]])?[payment])
        XCTAssertEqual(apply(paymentEdits, to: p), p.replacingOccurrences(of: "Embedded Payment", with: "Amount")
            .replacingOccurrences(of: "so its answer is Amount.Amount", with: "so its answer is Embedded Payment.Embedded Payment"))
        let prepared = try client.request("textDocument/prepareRename", at(payment, Marker.position(in: p, of: "-> result", delta: 5))) as? [String: Any]
        XCTAssertEqual(prepared?["placeholder"] as? String, "result")
    }

    func apply(_ edits: [[String: Any]], to text: String) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { Array(String($0).utf16) }
        let sorted = edits.sorted {
            let a = ($0["range"] as! [String: Any])["start"] as! [String: Int], b = ($1["range"] as! [String: Any])["start"] as! [String: Int]
            return (a["line"]!, a["character"]!) > (b["line"]!, b["character"]!)
        }
        for e in sorted {
            let range = e["range"] as! [String: Any]
            let s = range["start"] as! [String: Int], end = range["end"] as! [String: Int]
            XCTAssertEqual(s["line"], end["line"])
            lines[s["line"]!].replaceSubrange(s["character"]!..<end["character"]!, with: Array((e["newText"] as! String).utf16))
        }
        return lines.map { String(decoding: $0, as: UTF16.self) }.joined(separator: "\n")
    }

    // MARK: - Completion

    func labels(_ result: Any) -> [String] {
        ((result as? [String: Any])?["items"] as? [[String: Any]] ?? []).compactMap { $0["label"] as? String }
    }

    func complete(_ path: String, replacing old: String, with new: String, cursorAfter marker: String) throws -> [String] {
        let original = try String(contentsOf: LSPClient.packageRoot.appendingPathComponent(path), encoding: .utf8)
        let text = original.replacingOccurrences(of: old, with: new)
        XCTAssertNotEqual(text, original, "'\(old)' not found")
        // Beside the original (not on disk: the editor's text is all there is), so imports resolve.
        let uri = LSPClient.packageRoot.appendingPathComponent("flows/.lsp-completion-\(getpid())-\((path as NSString).lastPathComponent)").absoluteString
        client.notify("textDocument/didOpen", ["textDocument": ["uri": uri, "languageId": "flow", "version": 1, "text": text] as [String: Any]])
        defer { client.notify("textDocument/didClose", ["textDocument": ["uri": uri]]) }
        // A marker may end with the line end after the cursor.
        let position = Marker.position(in: text, of: marker, delta: marker.utf16.count - (marker.hasSuffix("\n") ? 1 : 0))
        return labels(try client.request("textDocument/completion", at(uri, position)))
    }

    func testCompletion() throws {
        // After `ip `, `extension `, `call `: the declared names with their parameter lists.
        let ipItems = try client.request("textDocument/completion", {
            let text = try! String(contentsOf: LSPClient.packageRoot.appendingPathComponent("flows/support.flow"), encoding: .utf8)
                .replacingOccurrences(of: "  response \"Thank you for calling. Goodbye.\"", with: "  ip ")
            let uri = LSPClient.packageRoot.appendingPathComponent("flows/.lsp-ip-\(getpid()).flow").absoluteString
            client.notify("textDocument/didOpen", ["textDocument": ["uri": uri, "languageId": "flow", "version": 1, "text": text] as [String: Any]])
            return at(uri, Marker.position(in: text, of: "\n  ip \n", delta: 6))
        }()) as? [String: Any]
        let ipList = try XCTUnwrap(ipItems?["items"] as? [[String: Any]])
        XCTAssertEqual(Set(ipList.compactMap { $0["label"] as? String }), ["Send SMS", "Create Ticket"])
        XCTAssertEqual(ipList.first { $0["label"] as? String == "Send SMS" }?["detail"] as? String, "Send SMS(phone: text, message: text) -> (receipt: text)")
        XCTAssertEqual(Set(try complete("flows/support.flow", replacing: "  response \"Thank you for calling. Goodbye.\"", with: "  call O", cursorAfter: "  call O")),
                       ["Support", "Triage", "Open Ticket"])
        XCTAssertEqual(try complete("flows/payment.flow", replacing: "  extension Tokenize -> (token: token)", with: "  extension ", cursorAfter: "  extension "), ["Tokenize"])
        // After `Page.`: the page's questions.
        XCTAssertEqual(try complete("flows/support.flow", replacing: "devices: Issue.Devices affected", with: "devices: Issue.", cursorAfter: "devices: Issue."),
                       ["Product", "Service down", "Devices affected", "Contact email", "Details"])
        // After `result.`: the call's outputs.
        XCTAssertEqual(try complete("flows/payment.flow", replacing: "if not result.paid or", with: "if not result. or", cursorAfter: "if not result."),
                       ["id", "status", "paid", "amount", "failure message"])
        // A sub-flow's outputs.
        XCTAssertEqual(Set(try complete("flows/support.flow", replacing: "{ticket.ticket id}. We", with: "{ticket.}. We", cursorAfter: "{ticket.")),
                       ["ticket id", "reply within"])
        // Inside `{…}` of a template: the names in scope (variables, pages, configs), not secrets.
        let template = try complete("flows/payment.flow", replacing: "{amount} on {today()}", with: "{am} on {today()}", cursorAfter: "{am")
        XCTAssertTrue(Set(template).isSuperset(of: ["amount", "token", "result", "description", "Embedded Payment", "STRIPE_BASE", "today"]), "\(template)")
        XCTAssertFalse(template.contains("STRIPE_SECRET_KEY"))
        // Question types and question properties.
        XCTAssertEqual(Set(try complete("flows/support.flow", replacing: "question Text me: yesno {", with: "question Text me: y {", cursorAfter: "question Text me: y")),
                       ["text", "number", "currency", "yesno", "choice", "choices", "date", "email", "password"])
        XCTAssertTrue(try complete("flows/support.flow", replacing: "      prompt \"How many", with: "      pro\n      prompt \"How many", cursorAfter: "      pro\n")
            .contains("prompt"))
        // Keywords where they may stand: statements in a flow, items in an IP, declarations at the top.
        let statements = try complete("flows/support.flow", replacing: "  response \"Thank you for calling. Goodbye.\"", with: "  re", cursorAfter: "\n  re\n")
        XCTAssertTrue(Set(statements).isSuperset(of: ["response", "set", "call", "if", "goto", "label", "page", "question"]), "\(statements)")
        XCTAssertFalse(statements.contains("import"))
        let ipKeywords = try complete("flows/support.flow", replacing: "  timeout 10\n  output receipt", with: "  ti\n  output receipt", cursorAfter: "\n  ti\n")
        XCTAssertTrue(Set(ipKeywords).isSuperset(of: ["timeout", "retry", "headers", "POST", "output"]), "\(ipKeywords)")
        let top = try complete("flows/support.flow", replacing: "secret SMS_TOKEN", with: "sec", cursorAfter: "sec")
        XCTAssertEqual(Set(top), ["import", "config", "secret", "var", "ip", "extension", "flow"])
        // In a plan: `answer ` lists the flow's questions.
        let answers = try complete("flows/payment.flowtest", replacing: "  answer Embedded Payment = 12.50", with: "  answer ", cursorAfter: "\n  answer ")
        XCTAssertEqual(answers, ["Embedded Payment"])
    }

    // MARK: - Hover, symbols, formatting, signature help, code actions

    func hoverText(_ uri: String, _ text: String, _ needle: String, delta: Int = 1) throws -> String {
        let r = try client.request("textDocument/hover", at(uri, Marker.position(in: text, of: needle, delta: delta))) as? [String: Any]
        return (r?["contents"] as? [String: Any])?["value"] as? String ?? ""
    }

    func testHover() throws {
        let (support, s) = try client.open("flows/support.flow")
        let question = try hoverText(support, s, "down: Issue.Service down", delta: 14)
        XCTAssertTrue(question.contains("question Service down: yesno"), question)
        XCTAssertTrue(question.contains("answer type bool"), question)
        XCTAssertTrue(question.contains("prompt: \"Is your service completely down right now?\""), question)
        let ip = try hoverText(support, s, "ip Send SMS(trim", delta: 5)
        XCTAssertTrue(ip.contains("Send SMS(phone: text, message: text) -> (receipt: text)"), ip)
        XCTAssertTrue(ip.contains("request: `POST \"{SMS_BASE}/accounts/contact-centre/messages\"`"), ip)
        XCTAssertTrue(ip.contains("outputs: `receipt: text`"), ip)
        let variable = try hoverText(support, s, "if case priority ==", delta: 5)
        XCTAssertTrue(variable.contains("variable case priority: text"), variable)
        let (payment, p) = try client.open("flows/payment.flow")
        let amount = try hoverText(payment, p, "{amount} on", delta: 2)
        XCTAssertTrue(amount.contains("variable amount: currency"), amount)
        let output = try hoverText(payment, p, "not result.paid", delta: 12)
        XCTAssertTrue(output.contains("output paid: bool"), output)
        XCTAssertTrue(output.contains("output of integration point 'StripeCharge'"), output)
    }

    func testDocumentSymbols() throws {
        let (support, _) = try client.open("flows/support.flow")
        let symbols = try client.request("textDocument/documentSymbol", ["textDocument": ["uri": support]]) as? [[String: Any]] ?? []
        XCTAssertEqual(symbols.compactMap { $0["name"] as? String }, ["SMS_BASE", "SMS_TOKEN", "Screen Pop", "Send SMS", "Support", "Triage"])
        let flow = try XCTUnwrap(symbols.first { $0["name"] as? String == "Support" })
        let children = flow["children"] as? [[String: Any]] ?? []
        XCTAssertEqual(children.compactMap { $0["name"] as? String }, ["Issue", "Text me", "Mobile number"])
        XCTAssertEqual((children[0]["children"] as? [[String: Any]])?.compactMap { $0["name"] as? String },
                       ["Product", "Service down", "Devices affected", "Contact email", "Details"])
        let (order, _) = try client.open("flows/order-status.flow")
        let orderSymbols = try client.request("textDocument/documentSymbol", ["textDocument": ["uri": order]]) as? [[String: Any]] ?? []
        let labels = orderSymbols.flatMap { $0["children"] as? [[String: Any]] ?? [] }.filter { $0["kind"] as? Int == 20 }.compactMap { $0["name"] as? String }
        XCTAssertEqual(labels, ["Ask Order", "Service Down"])
    }

    func testFormattingIsFlowFmt() throws {
        let original = try String(contentsOf: LSPClient.packageRoot.appendingPathComponent("flows/retry-pin.flow"), encoding: .utf8)
        let messy = original.replacingOccurrences(of: "\n  ", with: "\n      ").replacingOccurrences(of: "ip Lock Card(customer: text, reason: text)", with: "ip   Lock Card( customer : text,reason: text )")
        let (uri, _) = try client.open("/tmp/lsp-format-\(getpid()).flow", text: messy)
        let edits = try client.request("textDocument/formatting", ["textDocument": ["uri": uri], "options": ["tabSize": 2, "insertSpaces": true]] as [String: Any]) as? [[String: Any]] ?? []
        XCTAssertEqual(edits.count, 1)
        XCTAssertEqual(edits.first?["newText"] as? String, original, "the example is in flow fmt's layout")
        let (clean, _) = try client.open("flows/retry-pin.flow")
        XCTAssertEqual((try client.request("textDocument/formatting", ["textDocument": ["uri": clean], "options": ["tabSize": 2, "insertSpaces": true]] as [String: Any]) as? [Any])?.count, 0)
    }

    func testSignatureHelp() throws {
        let text = try String(contentsOf: LSPClient.packageRoot.appendingPathComponent("flows/support.flow"), encoding: .utf8)
            .replacingOccurrences(of: "    down: Issue.Service down,\n    devices: Issue.Devices affected\n  )", with: "    down: Issue.Service down,\n    ")
        let (uri, _) = try client.open("/tmp/lsp-signature-\(getpid()).flow", text: text)
        let help = try client.request("textDocument/signatureHelp", at(uri, Marker.position(in: text, of: "down: Issue.Service down,\n    ", delta: 30))) as? [String: Any]
        let signature = try XCTUnwrap((help?["signatures"] as? [[String: Any]])?.first)
        XCTAssertEqual(signature["label"] as? String, "Triage(product: text, down: bool, devices: number = 1)")
        XCTAssertEqual(help?["activeParameter"] as? Int, 2)
        let first = try client.request("textDocument/signatureHelp", at(uri, Marker.position(in: text, of: "call Triage(", delta: 12))) as? [String: Any]
        XCTAssertEqual(first?["activeParameter"] as? Int, 0)
        let trim = try client.request("textDocument/signatureHelp", at(uri, Marker.position(in: text, of: "trim(Mobile", delta: 5))) as? [String: Any]
        XCTAssertEqual((trim?["signatures"] as? [[String: Any]])?.first?["label"] as? String, "trim(value: text)")
    }

    func testACodeActionForEachDidYouMean() throws {
        let original = try String(contentsOf: LSPClient.packageRoot.appendingPathComponent("flows/payment.flow"), encoding: .utf8)
        let text = original.replacingOccurrences(of: "if not result.paid or", with: "if not result.payd or")
            .replacingOccurrences(of: "set amount = Embedded Payment.Embedded Payment", with: "set amount = Embedded Payment.Embedded Paymnt")
            .replacingOccurrences(of: "ip StripeCharge(amount, token, description) -> result", with: "ip StripeCharg(amount, token, description) -> result")
        let (uri, _) = try client.open("/tmp/lsp-actions-\(getpid()).flow", text: text)
        let diagnostics = try client.diagnostics(uri, version: 1)
        XCTAssertGreaterThanOrEqual(diagnostics.count, 2)
        var fixed = text
        var titles: [String] = []
        for d in diagnostics {
            let actions = try client.request("textDocument/codeAction", [
                "textDocument": ["uri": uri], "range": d["range"]!, "context": ["diagnostics": [d]],
            ] as [String: Any]) as? [[String: Any]] ?? []
            for a in actions {
                titles.append(a["title"] as? String ?? "")
                let edits = ((a["edit"] as? [String: Any])?["changes"] as? [String: [[String: Any]]])?[uri] ?? []
                fixed = apply(edits, to: fixed)
            }
        }
        XCTAssertTrue(titles.contains("Change to 'StripeCharge'"), "\(titles)")
        XCTAssertTrue(titles.contains("Change to 'Embedded Payment'"), "\(titles)")
        // Applying the fixes one at a time (ranges of one line each) restores what the typo broke.
        XCTAssertTrue(fixed.contains("Embedded Payment.Embedded Payment\n"), fixed)
        XCTAssertTrue(fixed.contains("ip StripeCharge(amount, token, description)"), fixed)
    }
}

/// `flow check --format json` on a text, for comparing diagnostics with the command line.
enum FlowCheck {
    static func json(_ text: String, name: String, beside folder: String?) throws -> [[String: Any]] {
        let directory = folder.map { LSPClient.packageRoot.appendingPathComponent($0) } ?? FileManager.default.temporaryDirectory
        let path = directory.appendingPathComponent(".lsp-check-\(getpid())-\(name)")
        try text.write(to: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: path) }
        let process = Process()
        process.executableURL = LSPClient.binary
        process.arguments = ["check", "--format", "json", path.path]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return try JSONSerialization.jsonObject(with: data) as? [[String: Any]] ?? []
    }
}
