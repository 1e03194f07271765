@testable import FlowKit
import XCTest

/// The drawings of `GraphExport`, text for text. The expected texts were checked by rendering
/// them: the DOT with Graphviz, the Mermaid with Mermaid's own parser.
final class GraphExportTests: XCTestCase {
    /// A page, a call with `on error`, a decision, a sub-flow call, text to escape and an
    /// unreachable element (and the end after it).
    static let source = #"""
        ip Charge(amount: currency) {
          POST "https://pay.test/charge"
          output id: text = json "id"
        }

        flow Pay {
          page Card {
            question Amount: currency
            question Note: text
          }
          ip Charge(Card.Amount) -> (id: charge id)
          on error {
            finish failure "declined"
          }
          if Card.Amount > 100 {
            call Audit(charge id)
          }
          response "Paid \"{charge id}\" <ok> #1"
          finish success
          response "never"
        }

        flow Audit(id: text) {
          response "audited {id}"
        }

        """#

    /// Compiles `files` (the first is the root) and returns the export even when the checks found
    /// errors: `Frontend` withholds the program of a file with errors, and an unreachable element
    /// is one.
    func export(_ files: [(path: String, text: String)]) -> GraphExport {
        let sources = SourceManager()
        let root = sources.add(path: files[0].path, bytes: Array(files[0].text.utf8))
        var diagnostics: [Diagnostic] = []
        let loader = MemoryLoader(Dictionary(uniqueKeysWithValues: files.map { ($0.path, $0.text) }))
        let trees = ImportResolver.loadAll(root: root, sources: sources, loader: loader, diagnostics: &diagnostics)
        let program = Compiler.compile(trees, sources: sources, diagnostics: &diagnostics)
        return GraphExport(program: program, sources: sources)
    }

    func export(_ source: String) -> GraphExport { export([("test.flow", source)]) }

    func testDOT() {
        XCTAssertEqual(
            export(Self.source).dot(),
            #"""
            digraph flow {
              graph [compound=true, newrank=true, fontname="Helvetica", fontsize=12, nodesep=0.3, ranksep=0.35];
              node [fontname="Helvetica", fontsize=11, shape=box, style="rounded,filled", fillcolor="#ffffff", color="#4d4d4d", margin="0.12,0.05"];
              edge [fontname="Helvetica", fontsize=10, color="#4d4d4d", arrowsize=0.7];
              subgraph cluster_f0 {
                label="flow Pay"; labeljust=l; style="rounded"; color="#b0b0b0";
                subgraph cluster_f0_n0 {
                  label="page Card"; style="rounded,filled"; fillcolor="#e8f0fb"; color="#6f93c4";
                  f0_n0_q0 [label="Amount: currency"];
                  f0_n0_q1 [label="Note: text"];
                  f0_n0_q0 -> f0_n0_q1 [style=invis];
                }
                f0_n1 [label="ip Charge\n(unsafe: no back past it)", fillcolor="#fdf1d8"];
                f0_n2 [label="finish failure \"declined\"", shape=oval, fillcolor="#ececec"];
                f0_n3 [label="if Card.Amount > 100", shape=diamond, style=filled, fillcolor="#fffbe6"];
                f0_n4 [label="call Audit", fillcolor="#fdf1d8"];
                f0_n5 [label="response \"Paid \\\"{charge id}\\\" <ok> #1\""];
                f0_n6 [label="finish success", shape=oval, fillcolor="#ececec"];
                f0_n7 [label="response \"never\"\n(unreachable)", style="rounded,dashed", color="#9a9a9a", fontcolor="#9a9a9a"];
                f0_n8 [label="end\n(unreachable)", shape=oval, style="rounded,dashed", color="#9a9a9a", fontcolor="#9a9a9a"];
              }
              subgraph cluster_f1 {
                label="flow Audit"; labeljust=l; style="rounded"; color="#b0b0b0";
                f1_n0 [label="response \"audited {id}\""];
                f1_n1 [label="end", shape=oval, fillcolor="#ececec"];
              }
              f0_n0_q1 -> f0_n1 [ltail=cluster_f0_n0];
              f0_n1 -> f0_n3;
              f0_n1 -> f0_n2 [label="error", color="#b03a2e", fontcolor="#b03a2e", weight=0];
              f0_n3 -> f0_n4 [label="yes"];
              f0_n3 -> f0_n5 [label="no"];
              f0_n4 -> f0_n5;
              f0_n4 -> f1_n0 [lhead=cluster_f1, label="call", style=dashed, color="#2e6db0", fontcolor="#2e6db0"];
              f0_n5 -> f0_n6;
              f0_n7 -> f0_n8 [style=dashed, color="#9a9a9a", fontcolor="#9a9a9a"];
              f0_n6 -> f0_n7 [style=invis];
              f1_n0 -> f1_n1;
            }
            """# + "\n")
    }

    func testMermaid() {
        XCTAssertEqual(
            export(Self.source).mermaid(),
            #"""
            flowchart TD
              subgraph f0["flow Pay"]
                subgraph f0_n0["page Card"]
                  f0_n0_q0["Amount: currency"]
                  f0_n0_q1["Note: text"]
                end
                f0_n1[["ip Charge<br>(unsafe: no back past it)"]]
                f0_n2(["finish failure #quot;declined#quot;"])
                f0_n3{"if Card.Amount #gt; 100"}
                f0_n4[["call Audit"]]
                f0_n5["response #quot;Paid #92;#quot;{charge id}#92;#quot; #lt;ok#gt; #35;1#quot;"]
                f0_n6(["finish success"])
                f0_n7["response #quot;never#quot;<br>(unreachable)"]
                f0_n8(["end<br>(unreachable)"])
              end
              subgraph f1["flow Audit"]
                f1_n0["response #quot;audited {id}#quot;"]
                f1_n1(["end"])
              end
              f0_n0_q0 ~~~ f0_n0_q1
              f0_n0 --> f0_n1
              f0_n1 --> f0_n3
              f0_n1 -->|error| f0_n2
              f0_n3 -->|yes| f0_n4
              f0_n3 -->|no| f0_n5
              f0_n4 --> f0_n5
              f0_n4 -.->|call| f1_n0
              f0_n5 --> f0_n6
              f0_n7 -.-> f0_n8
              f0_n6 ~~~ f0_n7
              f1_n0 --> f1_n1
              linkStyle 3 stroke:#b03a2e,color:#b03a2e
              linkStyle 7 stroke:#2e6db0,color:#2e6db0
              linkStyle 9 stroke:#9a9a9a,color:#9a9a9a
              classDef invoke fill:#fdf1d8
              classDef unreachable stroke:#9a9a9a,stroke-dasharray:5 5,color:#9a9a9a
              class f0_n1,f0_n4 invoke
              class f0_n7,f0_n8 unreachable
              style f0_n0 fill:#e8f0fb,stroke:#6f93c4
            """# + "\n")
    }

    /// The same program gives the same text, byte for byte.
    func testOutputIsDeterministic() {
        let first = export(Self.source)
        let second = export(Self.source)
        XCTAssertEqual(first.dot(), second.dot())
        XCTAssertEqual(first.mermaid(), second.mermaid())
        XCTAssertEqual(first.render(format: .dot), first.dot())
        XCTAssertEqual(first.render(format: .mermaid), first.mermaid())
    }

    /// By default only the root file's flows are drawn; a drawn call into a flow that is not
    /// drawn ends at a box of that flow's own, drawn once however often it is called.
    func testImportedFlowsAndFlowsNotDrawn() {
        let lib = "flow Helper {\n  response \"helping\"\n}\n"
        let main = "import \"lib.flow\"\n\nflow Main {\n  call Helper\n  call Helper\n}\n"
        let export = export([("main.flow", main), ("lib.flow", lib)])
        let helper = export.program.flows.firstIndex { $0.name == "Helper" }!
        let main_ = export.program.flows.firstIndex { $0.name == "Main" }!
        XCTAssertEqual(export.rootFlows, [main_])

        let mermaid = export.mermaid()
        XCTAssertTrue(mermaid.contains("  f\(helper)[\"flow Helper<br>(lib.flow, not drawn)\"]\n"), mermaid)
        XCTAssertEqual(mermaid.components(separatedBy: "f\(helper)[\"flow Helper").count, 2, mermaid)
        XCTAssertTrue(mermaid.contains("  f\(main_)_n0 -.->|call| f\(helper)\n"), mermaid)
        XCTAssertTrue(mermaid.contains("  f\(main_)_n1 -.->|call| f\(helper)\n"), mermaid)
        XCTAssertFalse(mermaid.contains("flow Helper\"]"), "Helper is not drawn as a flow\n\(mermaid)")

        // Drawn on its own, Helper is a flow; drawn with Main, the calls go to its first element.
        XCTAssertTrue(export.dot(flows: [helper]).contains("label=\"flow Helper\";"))
        let both = export.dot(flows: [main_, helper])
        XCTAssertTrue(both.contains("  f\(main_)_n0 -> f\(helper)_n0 [lhead=cluster_f\(helper), label=\"call\""), both)
        XCTAssertFalse(both.contains("not drawn"), both)
    }

    /// A `goto` is an edge to its label; a call's `on error goto` is an `error` edge to the label;
    /// a flow whose every path finishes has no `end` to draw.
    func testGotoLabelsAndNoEnd() {
        let source = """
            ip Check() {
              GET "https://x.test/check"
              output ok: bool = json "ok"
            }

            flow Loop {
              set tries = 0
              label Again
              set tries += 1
              ip Check() -> result
              on error goto Again
              if tries < 3 and not result.ok {
                goto Again
              }
              finish success
            }

            """
        let dot = export(source).dot()
        XCTAssertTrue(dot.contains(#"f0_n1 [label="label Again", shape=cds"#), dot)
        XCTAssertTrue(dot.contains(#"f0_n3 -> f0_n1 [label="error""#), dot)
        XCTAssertTrue(dot.contains(#"f0_n5 [label="goto Again", shape=cds"#), dot)
        XCTAssertTrue(dot.contains("  f0_n5 -> f0_n1;\n"), dot)
        XCTAssertTrue(dot.contains(#"f0_n2 [label="set tries += 1"]"#), dot)
        XCTAssertFalse(dot.contains("label=\"end"), dot)
        XCTAssertFalse(dot.contains("unreachable"), dot)
    }

    /// Long source text is cut at a word, and a cut inside a string keeps its closing quote.
    func testSummaries() {
        let e = export(Self.source)
        XCTAssertEqual(e.summary("if a"), "if a")
        XCTAssertEqual(
            e.summary(#"response "The payment service is not available right now.""#),
            #"response "The payment service is not …""#)
        XCTAssertEqual(
            e.summary("if not result.paid or result.status != \"succeeded\""),
            "if not result.paid or result.status != …")
        // Escaped quotes do not end a string.
        XCTAssertEqual(
            e.summary(#"set message = "a\"b" + yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"#),
            #"set message = "a\"b" + …"#)
        XCTAssertEqual(
            e.summary(#"response "say \"hi\" to everyone in the room, please""#),
            #"response "say \"hi\" to everyone in the …""#)
        // No space in reach: cut at the limit.
        XCTAssertEqual(e.summary(String(repeating: "x", count: 50)), String(repeating: "x", count: 40) + " …")
    }

    /// Source text spread over lines is one line in a label.
    func testWhitespaceIsCollapsed() {
        let source = "flow F {\n  set total = [1,\n     2]\n  response \"{total}\"\n}\n"
        XCTAssertTrue(export(source).dot().contains(#"[label="set total = [1, 2]"]"#))
    }

    func testDOTEscapes() {
        let renderer = DOTRenderer(drawing: Drawing())
        XCTAssertEqual(renderer.quote(#"say "hi" \ bye"#), #""say \"hi\" \\ bye""#)
        XCTAssertEqual(renderer.quote("one\ntwo"), #""one\ntwo""#)
        XCTAssertEqual(renderer.quote(#"\n"#), #""\\n""#)
    }

    func testMermaidEscapes() {
        let renderer = MermaidRenderer(drawing: Drawing())
        XCTAssertEqual(renderer.quote(#"say "hi" [x] {y} (z)"#), #""say #quot;hi#quot; [x] {y} (z)""#)
        XCTAssertEqual(renderer.quote("<b>&amp; #1 `code` \\n"), ##""#lt;b#gt;#amp;amp; #35;1 #96;code#96; #92;n""##)
        XCTAssertEqual(renderer.quote("one\ntwo"), #""one<br>two""#)
    }
}
