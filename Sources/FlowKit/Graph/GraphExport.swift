/// Drawings of the element graph: Graphviz DOT and Mermaid flowcharts of a compiled program.
///
/// Design note: `GraphExport` first describes the chosen flows once (`Drawing`: the nodes, the
/// pages with their questions, the edges, what is unreachable), then each format renders that
/// description. Both are pure functions of the program and its sources: no I/O, no randomness, no
/// dictionary order, so the same program always gives the same text.
///
/// - **Ids** are stable: `f<flow>` for a flow, `f<flow>_n<element>` for an element and
///   `f<flow>_n<element>_q<question>` for a question of a page, by their indices in
///   `Program.flows`, `FlowGraph.elements` and `PageInfo.questions`.
/// - **Labels** say the element's kind and what it does, quoting the source: `if not result.paid
///   or …`, `response "You paid …"`, `set amount = …`, `finish failure "declined"`. Whitespace
///   is collapsed and long text is cut at a word to `summaryLimit` characters; a cut inside a
///   string keeps its closing quote. A call to an unsafe IP or extension says so on a second line,
///   `(unsafe: no back past it)`: `back` stops at the first page after it.
/// - **Edges**: `next` unlabelled, a decision's `yes` (next) and `no` (branch), a call's `error`
///   (branch), and a dashed `call` edge from a sub-flow call to the entry of the called flow
///   (drawn as a box of its own, `flow Name`, when that flow is not among those drawn).
/// - **Unreachable** elements, by the checker's own reachability (`GraphIndex`), are dashed grey
///   and labelled `(unreachable)`. The implicit `end` of a flow is drawn only when something
///   leads to it: a flow whose every path finishes has no end to show.
public struct GraphExport: Sendable {
    public enum Format: String, Sendable, CaseIterable {
        case dot, mermaid
    }

    public let program: Program
    public let sources: SourceManager
    /// Labels quoting source text are cut to about this many characters.
    public var summaryLimit = 40

    public init(program: Program, sources: SourceManager) {
        self.program = program
        self.sources = sources
    }

    /// The flows declared in the root file (the first file of `sources`), in source order.
    public var rootFlows: [Int] {
        program.flows.indices.filter { program.flows[$0].range.file == FileID(0) }
    }

    /// The drawing of `flows` (indices into `program.flows`; nil: `rootFlows`) in `format`.
    public func render(flows: [Int]? = nil, format: Format) -> String {
        switch format {
        case .dot: dot(flows: flows)
        case .mermaid: mermaid(flows: flows)
        }
    }

    /// Graphviz DOT: one `digraph`, each flow a cluster, each page a cluster of its questions.
    public func dot(flows: [Int]? = nil) -> String {
        DOTRenderer(drawing: drawing(flows ?? rootFlows)).render()
    }

    /// A Mermaid `flowchart TD`: each flow a subgraph, each page a subgraph of its questions.
    public func mermaid(flows: [Int]? = nil) -> String {
        MermaidRenderer(drawing: drawing(flows ?? rootFlows)).render()
    }

    // MARK: - The drawing, whatever the format

    func drawing(_ flows: [Int]) -> Drawing {
        var drawing = Drawing()
        let drawn = Set(flows)
        var callees: [Int] = []
        var calleeSet = Set<Int>()
        for f in flows {
            let flow = program.flows[f]
            let graph = GraphIndex(flow)
            let reachable = GraphIndex.reachable(in: flow)
            var box = Drawing.Flow(id: "f\(f)", title: "flow \(flow.name)")
            var shown = [Bool](repeating: true, count: flow.elements.count)
            for (i, element) in flow.elements.enumerated() {
                if case .end = element.kind, !reachable[i], !graph.hasPredecessor(i, where: { _ in true }) {
                    shown[i] = false
                    continue
                }
                var node = Drawing.Node(id: "f\(f)_n\(i)", label: "", shape: .action, unreachable: !reachable[i])
                describe(element, in: flow, as: &node)
                box.nodes.append(node)
            }
            drawing.flows.append(box)
            for (i, element) in flow.elements.enumerated() where shown[i] {
                let from = "f\(f)_n\(i)"
                let faded = !reachable[i]
                var nextLabel: String?
                var branchLabel: String?
                var callee: Int?
                switch element.kind {
                case .decision:
                    nextLabel = "yes"
                    branchLabel = "no"
                case .call(let info):
                    branchLabel = "error"
                    if case .flow(let c) = info.target { callee = c }
                default: break
                }
                if element.next >= 0 && shown[Int(element.next)] {
                    drawing.edges.append(
                        Drawing.Edge(from: from, to: "f\(f)_n\(element.next)", label: nextLabel, style: .next, faded: faded))
                }
                if element.branch >= 0 && shown[Int(element.branch)] {
                    drawing.edges.append(
                        Drawing.Edge(from: from, to: "f\(f)_n\(element.branch)", label: branchLabel,
                                     style: branchLabel == "error" ? .error : .next, faded: faded))
                }
                if let callee {
                    // A flow that is not drawn gets a box of its own (once), named by the flow's id.
                    let isDrawn = drawn.contains(callee)
                    if !isDrawn && calleeSet.insert(callee).inserted { callees.append(callee) }
                    drawing.edges.append(
                        Drawing.Edge(from: from, to: isDrawn ? "f\(callee)_n\(program.flows[callee].entry)" : "f\(callee)",
                                     label: "call", style: .call, faded: faded,
                                     calleeFlow: isDrawn && callee != f ? "f\(callee)" : nil))
                }
                // Nothing leads to the start of an unreachable region: an invisible edge from the
                // element before it keeps it in its place instead of floating to the top.
                if faded && i > 0 && shown[i - 1] && !graph.hasPredecessor(i, where: { _ in true }) {
                    drawing.edges.append(Drawing.Edge(from: "f\(f)_n\(i - 1)", to: from, style: .layout, faded: false))
                }
            }
        }
        for callee in callees {
            let flow = program.flows[callee]
            let path = sources[flow.range.file].path
            let file = path.split(separator: "/").last.map(String.init) ?? path
            drawing.callees.append(
                Drawing.Node(id: "f\(callee)", label: "flow \(flow.name)\n(\(file), not drawn)", shape: .callee, unreachable: false))
        }
        return drawing
    }

    /// Fills in the label and the shape of one element's node (and a page's questions).
    private func describe(_ element: Element, in flow: FlowGraph, as node: inout Drawing.Node) {
        switch element.kind {
        case .page(let p):
            let page = flow.pages[p]
            node.label = "page \(page.name)"
            node.shape = .page
            node.questions = page.questions.map { "\($0.name): \($0.type.rawValue)" }
        case .call(let info):
            node.shape = .call
            switch info.target {
            // An unsafe call is a point of no return for `back` (grammar.md, "Calls are effects").
            case .ip(let i):
                node.label = "ip \(program.integrationPoints[i].name)"
                if !program.integrationPoints[i].isSafe { node.label += "\n(unsafe: no back past it)" }
            case .extension(let i):
                node.label = "extension \(program.extensions[i].name)"
                if !program.extensions[i].isSafe { node.label += "\n(unsafe: no back past it)" }
            case .flow(let i): node.label = "call \(program.flows[i].name)"
            }
        case .response, .set:
            node.label = summary(sourceText(element.range))
        case .decision(let condition):
            node.label = summary("if " + sourceText(condition.range))
            node.shape = .decision
        case .label(let name):
            node.label = "label \(name)"
            node.shape = .marker
        case .goto(let name):
            node.label = "goto \(name)"
            node.shape = .marker
        case .finish(let success, let reason):
            node.label = summary("finish \(success ? "success" : "failure")" + (reason.map { " " + sourceText($0.range) } ?? ""))
            node.shape = .terminal
        case .end:
            node.label = "end"
            node.shape = .terminal
        }
        if node.unreachable { node.label += "\n(unreachable)" }
    }

    /// The source text of `range`, with every run of whitespace made one space.
    func sourceText(_ range: SourceRange) -> String {
        let file = sources[range.file]
        let end = min(Int(range.end), file.bytes.count)
        let start = min(Int(range.start), end)
        let text = String(decoding: UnsafeBufferPointer(rebasing: file.bytes[start..<end]), as: UTF8.self)
        return text.split(whereSeparator: { $0.isWhitespace || $0.unicodeScalars.first!.properties.generalCategory == .control })
            .joined(separator: " ")
    }

    /// `text` cut to about `summaryLimit` characters at a space, ending in ` …` (and a closing
    /// quote when the cut falls inside a string).
    func summary(_ text: String) -> String {
        let characters = Array(text)
        guard characters.count > summaryLimit else { return text }
        var cut = summaryLimit
        // Cut at the last space, unless that would leave less than half.
        if let space = characters[..<summaryLimit].lastIndex(of: " "), space >= summaryLimit / 2 { cut = space }
        var kept = String(characters[..<cut])
        while kept.last == " " { kept.removeLast() }
        var inString = false
        var escaped = false
        for c in kept {
            if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { inString.toggle() }
        }
        return kept + " …" + (inString ? "\"" : "")
    }
}

/// What both formats draw: flows as boxes of nodes, pages as boxes of their questions, edges.
struct Drawing {
    enum Shape {
        /// `set`, `response`.
        case action
        /// An IP, extension or sub-flow call.
        case call
        case decision
        /// A box titled `page Name` around its questions.
        case page
        /// `label`, `goto`.
        case marker
        /// `finish`, `end`.
        case terminal
        /// A called flow that is not drawn.
        case callee
    }

    struct Node {
        var id: String
        /// Lines separated by "\n".
        var label: String
        var shape: Shape
        var unreachable: Bool
        /// A page's questions, `Name: type`.
        var questions: [String] = []

        /// The id of the node of question `q` of a page.
        func question(_ q: Int) -> String { "\(id)_q\(q)" }
    }

    struct Flow {
        var id: String
        var title: String
        var nodes: [Node] = []
    }

    enum EdgeStyle {
        case next, error, call
        /// Invisible: only places a node.
        case layout
    }

    struct Edge {
        var from: String
        var to: String
        var label: String?
        var style: EdgeStyle
        /// Leaves an unreachable element.
        var faded: Bool
        /// A call into another drawn flow: the id of that flow (its box is where the edge ends).
        var calleeFlow: String?
    }

    var flows: [Flow] = []
    var callees: [Node] = []
    var edges: [Edge] = []

    /// Every node by id, for looking up a page's questions from an edge.
    func nodesByID() -> [String: Node] {
        var nodes: [String: Node] = [:]
        for flow in flows { for node in flow.nodes { nodes[node.id] = node } }
        return nodes
    }
}

// MARK: - Graphviz DOT

/// Writes a `Drawing` as one Graphviz `digraph`. Pages are clusters (`cluster_f0_n0`) whose edges
/// start and end at the cluster's border (`compound=true` with `ltail`/`lhead`), as do calls into
/// another flow's cluster.
struct DOTRenderer {
    let drawing: Drawing
    private static let grey = "#9a9a9a"

    func render() -> String {
        var out = """
            digraph flow {
              graph [compound=true, newrank=true, fontname="Helvetica", fontsize=12, nodesep=0.3, ranksep=0.35];
              node [fontname="Helvetica", fontsize=11, shape=box, style="rounded,filled", fillcolor="#ffffff", color="#4d4d4d", margin="0.12,0.05"];
              edge [fontname="Helvetica", fontsize=10, color="#4d4d4d", arrowsize=0.7];

            """
        let nodes = drawing.nodesByID()
        for flow in drawing.flows {
            out += "  subgraph cluster_\(flow.id) {\n"
            out += "    label=\(quote(flow.title)); labeljust=l; style=\"rounded\"; color=\"#b0b0b0\";\n"
            for node in flow.nodes { out += declaration(node, indent: "    ") }
            out += "  }\n"
        }
        for node in drawing.callees { out += declaration(node, indent: "  ") }
        for edge in drawing.edges {
            var attributes: [String] = []
            var tail = edge.from
            var head = edge.to
            if let page = nodes[edge.from], page.shape == .page, !page.questions.isEmpty {
                tail = page.question(page.questions.count - 1)
                attributes.append("ltail=cluster_\(page.id)")
            }
            if let flow = edge.calleeFlow {
                if let page = nodes[edge.to], page.shape == .page, !page.questions.isEmpty { head = page.question(0) }
                attributes.append("lhead=cluster_\(flow)")
            } else if let page = nodes[edge.to], page.shape == .page, !page.questions.isEmpty {
                head = page.question(0)
                attributes.append("lhead=cluster_\(page.id)")
            }
            if let label = edge.label { attributes.append("label=\(quote(label))") }
            if edge.style == .layout {
                attributes = ["style=invis"]
            } else if edge.faded {
                attributes.append("style=dashed, color=\"\(Self.grey)\", fontcolor=\"\(Self.grey)\"")
            } else {
                switch edge.style {
                case .next, .layout: break
                // Weight 0: the way on runs straight down and the handler branches off to the side.
                case .error: attributes.append("color=\"#b03a2e\", fontcolor=\"#b03a2e\", weight=0")
                case .call: attributes.append("style=dashed, color=\"#2e6db0\", fontcolor=\"#2e6db0\"")
                }
            }
            out += "  \(tail) -> \(head)"
            if !attributes.isEmpty { out += " [\(attributes.joined(separator: ", "))]" }
            out += ";\n"
        }
        out += "}\n"
        return out
    }

    private func declaration(_ node: Drawing.Node, indent: String) -> String {
        guard node.shape == .page, !node.questions.isEmpty else {
            return "\(indent)\(node.id) [label=\(quote(node.label))\(attributes(node.shape, faded: node.unreachable))];\n"
        }
        var out = "\(indent)subgraph cluster_\(node.id) {\n"
        let style = node.unreachable
            ? "style=\"rounded,dashed\"; color=\"\(Self.grey)\"; fontcolor=\"\(Self.grey)\";"
            : "style=\"rounded,filled\"; fillcolor=\"#e8f0fb\"; color=\"#6f93c4\";"
        out += "\(indent)  label=\(quote(node.label)); \(style)\n"
        for (q, question) in node.questions.enumerated() {
            out += "\(indent)  \(node.question(q)) [label=\(quote(question))\(attributes(.action, faded: node.unreachable))];\n"
        }
        for q in node.questions.indices.dropFirst() {
            out += "\(indent)  \(node.question(q - 1)) -> \(node.question(q)) [style=invis];\n"
        }
        out += "\(indent)}\n"
        return out
    }

    /// The attributes of a node beyond the defaults (a white rounded box): its shape and fill, or
    /// dashed grey when it is unreachable.
    private func attributes(_ shape: Drawing.Shape, faded: Bool) -> String {
        let outline: String
        switch shape {
        case .action, .page, .call, .callee: outline = ""
        case .decision: outline = ", shape=diamond"
        case .marker: outline = ", shape=cds"
        case .terminal: outline = ", shape=oval"
        }
        if faded { return outline + ", style=\"rounded,dashed\", color=\"\(Self.grey)\", fontcolor=\"\(Self.grey)\"" }
        switch shape {
        case .action, .page: return outline
        case .call: return outline + ", fillcolor=\"#fdf1d8\""
        case .decision: return outline + ", style=filled, fillcolor=\"#fffbe6\""
        case .marker: return outline + ", style=filled, fillcolor=\"#f0f0f0\""
        case .terminal: return outline + ", fillcolor=\"#ececec\""
        case .callee: return outline + ", style=\"rounded,dashed\", color=\"#2e6db0\""
        }
    }

    /// A DOT string: `"` and `\` escaped, line breaks as DOT's centred `\n`.
    func quote(_ text: String) -> String {
        var out = "\""
        for c in text.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": break
            default: out.unicodeScalars.append(c)
            }
        }
        return out + "\""
    }
}

// MARK: - Mermaid

/// Writes a `Drawing` as a Mermaid `flowchart TD`. Labels are always quoted (`["…"]`), with
/// Mermaid's entity codes for what it would otherwise read: `#quot;`, `#35;`, `#lt;`, … Pages are
/// subgraphs (edges go to the subgraph itself); unreachable nodes get the class `unreachable`.
struct MermaidRenderer {
    let drawing: Drawing

    func render() -> String {
        var out = "flowchart TD\n"
        var faded: [String] = []
        var pages: [(id: String, unreachable: Bool)] = []
        var invisible: [(String, String)] = []
        for flow in drawing.flows {
            out += "  subgraph \(flow.id)[\(quote(flow.title))]\n"
            for node in flow.nodes {
                if node.shape == .page && !node.questions.isEmpty {
                    out += "    subgraph \(node.id)[\(quote(node.label))]\n"
                    for (q, question) in node.questions.enumerated() {
                        out += "      \(node.question(q))[\(quote(question))]\n"
                        if q > 0 { invisible.append((node.question(q - 1), node.question(q))) }
                    }
                    out += "    end\n"
                    pages.append((node.id, node.unreachable))
                } else {
                    out += "    \(node.id)\(shape(node))\n"
                    if node.unreachable { faded.append(node.id) }
                }
            }
            out += "  end\n"
        }
        for node in drawing.callees { out += "  \(node.id)\(shape(node))\n" }
        var index = 0
        var styles: [(Int, String)] = []
        for (a, b) in invisible {
            out += "  \(a) ~~~ \(b)\n"
            index += 1
        }
        for edge in drawing.edges {
            let arrow = edge.style == .layout ? "~~~" : edge.style == .call || edge.faded ? "-.->" : "-->"
            // The labels are fixed words (yes, no, error, call): nothing to quote.
            out += "  \(edge.from) \(arrow)\(edge.label.map { "|\($0)|" } ?? "") \(edge.to)\n"
            if edge.faded {
                styles.append((index, "stroke:#9a9a9a,color:#9a9a9a"))
            } else if edge.style == .error {
                styles.append((index, "stroke:#b03a2e,color:#b03a2e"))
            } else if edge.style == .call {
                styles.append((index, "stroke:#2e6db0,color:#2e6db0"))
            }
            index += 1
        }
        for (i, style) in styles { out += "  linkStyle \(i) \(style)\n" }
        out += "  classDef invoke fill:#fdf1d8\n"
        out += "  classDef unreachable stroke:#9a9a9a,stroke-dasharray:5 5,color:#9a9a9a\n"
        let calls = drawing.flows.flatMap(\.nodes).filter { $0.shape == .call && !$0.unreachable }.map(\.id)
        if !calls.isEmpty { out += "  class \(calls.joined(separator: ",")) invoke\n" }
        if !faded.isEmpty { out += "  class \(faded.joined(separator: ",")) unreachable\n" }
        if !drawing.callees.isEmpty {
            out += "  classDef callee stroke:#2e6db0,stroke-dasharray:5 5\n"
            out += "  class \(drawing.callees.map(\.id).joined(separator: ",")) callee\n"
        }
        for page in pages {
            let style = page.unreachable ? "stroke:#9a9a9a,stroke-dasharray:5 5,color:#9a9a9a" : "fill:#e8f0fb,stroke:#6f93c4"
            out += "  style \(page.id) \(style)\n"
        }
        return out
    }

    private func shape(_ node: Drawing.Node) -> String {
        let label = quote(node.label)
        switch node.shape {
        case .action, .page, .callee: return "[\(label)]"
        case .call: return "[[\(label)]]"
        case .decision: return "{\(label)}"
        case .marker: return ">\(label)]"
        case .terminal: return "([\(label)])"
        }
    }

    /// A quoted Mermaid label: characters Mermaid would read as syntax, markdown, HTML or a line
    /// break (`\n`) written as entity codes; line breaks as `<br>`.
    func quote(_ text: String) -> String {
        var out = "\""
        for c in text.unicodeScalars {
            switch c {
            case "\"": out += "#quot;"
            case "#": out += "#35;"
            case "&": out += "#amp;"
            case "<": out += "#lt;"
            case ">": out += "#gt;"
            case "\\": out += "#92;"
            case "`": out += "#96;"
            case "\n": out += "<br>"
            case "\r": break
            default: out.unicodeScalars.append(c)
            }
        }
        return out + "\""
    }
}
