import FlowKit
import Foundation

/// The web client (`/`, `/web/{version}/…`) and the flows' web extensions
/// (`/v1/flows/{flow}/extensions/{name}.js`).
///
/// Design note: the client is three files kept in `Sources/FlowServer/Web` (SwiftPM resources),
/// served as they are: no build step. Assets are served under a path holding a hash of their
/// content, so they are `immutable`; the page itself is revalidated (`no-cache` with an ETag). The
/// page's Content-Security-Policy allows scripts and styles from this server only (nothing
/// inline) and `connect-src` this server plus the origins of the URL-valued configs of the flow
/// files that declare a web extension (the payment flow's `STRIPE_BASE`): an extension running in
/// the browser talks to its gateway and to nothing else. An extension's module is read from the
/// flow file's folder, never from outside it.
struct WebClient: Sendable {
    struct Asset: Sendable {
        var bytes: [UInt8]
        var type: String
    }

    let assets: [String: Asset]
    let version: String
    let page: [UInt8]
    let pageTag: String
    let connectSources: [String]
    /// Web modules that cannot be served (missing, outside the flow's folder, not a plain text
    /// literal), said once in the log when the server starts.
    let problems: [String]

    init(catalogue: FlowCatalogue) {
        var assets: [String: Asset] = [:]
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        let types = ["js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8"]
        var page: [UInt8] = Array("<!doctype html><title>flow</title><p>The web client is missing from this build.</p>".utf8)
        if let folder = Self.webFolder() {
            for name in ["app.js", "style.css", "index.html"] {
                guard let data = FileManager.default.contents(atPath: folder.appendingPathComponent(name).path) else { continue }
                for b in data { hash = (hash ^ UInt64(b)) &* 0x100_0000_01b3 }
                let ext = String(name.split(separator: ".").last!)
                if name == "index.html" { page = Array(data) } else { assets[name] = Asset(bytes: Array(data), type: types[ext]!) }
            }
        }
        self.assets = assets
        version = String(hash, radix: 16)
        let html = String(decoding: page, as: UTF8.self).replacingOccurrences(of: "{{VERSION}}", with: version)
        self.page = Array(html.utf8)
        pageTag = "\"\(version)\""
        var origins: [String] = []
        for file in catalogue.files where file.program.extensions.contains(where: { $0.declaration.web != nil }) {
            for case .text(let s) in (try? file.program.configValues(overrides: file.configs)) ?? [] {
                if let o = Self.origin(s), !origins.contains(o) { origins.append(o) }
            }
        }
        connectSources = origins
        var problems: [String] = []
        if assets.count != 2 {
            problems.append("warning: the web client's files (flow_FlowServer.resources/Web) are not beside the executable; '/' says so")
        }
        for file in catalogue.files {
            for ext in file.program.extensions {
                guard let web = ext.declaration.web else { continue }
                guard case .string(let relative) = web.kind else {
                    problems.append("warning: the web module of extension '\(ext.name)' in \(file.path) is not a plain text literal; it is not served")
                    continue
                }
                if Self.modulePath(relative, flowFile: file.path) == nil {
                    problems.append("warning: the web module \(relative) of extension '\(ext.name)' is missing or outside the folder of \(file.path); it is not served")
                }
            }
        }
        self.problems = problems
    }

    /// The file of a web module written `relative` in `flowFile`: inside the flow file's folder
    /// (symbolic links resolved) and readable, or nil.
    static func modulePath(_ relative: String, flowFile: String) -> String? {
        let folder = URL(fileURLWithPath: flowFile).deletingLastPathComponent().standardizedFileURL.resolvingSymlinksInPath().path
        let target = URL(fileURLWithPath: relative, relativeTo: URL(fileURLWithPath: folder + "/", isDirectory: true))
            .standardizedFileURL.resolvingSymlinksInPath().path
        guard !relative.hasPrefix("/"), target.hasPrefix(folder.hasSuffix("/") ? folder : folder + "/"),
              FileManager.default.isReadableFile(atPath: target) else { return nil }
        return target
    }

    /// `flow_FlowServer.resources/Web` beside the executable (where SwiftPM puts the target's
    /// resources), or nil. Not `Bundle.module`, which stops the process when the bundle is not
    /// there (a binary copied without it): then the page says the client is missing, and the log.
    static func webFolder() -> URL? {
        var places: [URL] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            places.append(URL(fileURLWithPath: exe).deletingLastPathComponent())
        }
        places.append(Bundle.main.bundleURL)
        for place in places {
            let folder = place.appendingPathComponent("flow_FlowServer.resources").appendingPathComponent("Web")
            if FileManager.default.fileExists(atPath: folder.appendingPathComponent("index.html").path) { return folder }
        }
        return nil
    }

    /// `scheme://host[:port]` of an http(s) URL, or nil.
    static func origin(_ text: String) -> String? {
        guard let c = URLComponents(string: text), let scheme = c.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = c.host, !host.isEmpty,
              host.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == ":" || $0 == "[" || $0 == "]" })
        else { return nil }
        return "\(scheme)://\(host)" + (c.port.map { ":\($0)" } ?? "")
    }

    var policy: String {
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src "
            + (["'self'"] + connectSources).joined(separator: " ")
            + "; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
    }

    /// The response for `path`, or nil when the path is not the web client's.
    func response(_ request: ServerRequest, catalogue: FlowCatalogue) -> (String, ServerResponse)? {
        let path = request.path
        let method = request.method == "HEAD" ? "GET" : request.method
        func onlyGet(_ route: String, _ body: () -> ServerResponse) -> (String, ServerResponse) {
            guard method == "GET" else {
                return (route, .error(405, "methodNotAllowed", "\(request.method) is not allowed here", headers: [("Allow", "GET, HEAD")]))
            }
            return (route, body())
        }
        if path == "/" || path == "/index.html" {
            return onlyGet("web") {
                let common: [(name: String, value: String)] = [
                    ("Content-Security-Policy", policy), ("Cache-Control", "no-cache"), ("ETag", pageTag),
                    ("Referrer-Policy", "no-referrer"), ("X-Frame-Options", "DENY"),
                ]
                if let tags = request.header("if-none-match"), tags.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == pageTag }) {
                    return ServerResponse(status: 304, headers: common)
                }
                return ServerResponse(status: 200, headers: [("Content-Type", "text/html; charset=utf-8")] + common, body: page)
            }
        }
        if path.hasPrefix("/web/") {
            let parts = path.dropFirst(5).split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, parts[0] == version, let asset = assets[String(parts[1])] else {
                return ("web", .error(404, "notFound", "there is no such file of the web client"))
            }
            return onlyGet("web") {
                ServerResponse(status: 200, headers: [("Content-Type", asset.type), ("Cache-Control", "public, max-age=31536000, immutable"),
                                                      ("ETag", "\"\(version)\"")], body: asset.bytes)
            }
        }
        let prefix = "/v1/flows/"
        if path.hasPrefix(prefix) {
            let parts = path.dropFirst(prefix.count).split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[1] == "extensions", parts[2].hasSuffix(".js"),
                  let flow = String(parts[0]).removingPercentEncoding, let name = String(parts[2].dropLast(3)).removingPercentEncoding
            else { return nil }
            return onlyGet("extensionModule") { extensionModule(flow: flow, name: name, catalogue: catalogue) }
        }
        return nil
    }

    func extensionModule(flow: String, name: String, catalogue: FlowCatalogue) -> ServerResponse {
        let missing = ServerResponse.error(404, "unknownExtension", "the flow has no extension of this name with a web module")
        guard let index = catalogue.byName[flow] else { return missing }
        let file = catalogue.files[index]
        guard let ext = file.program.extensions.first(where: { $0.name == name }),
              case .string(let relative)? = ext.declaration.web?.kind else { return missing }
        guard let target = Self.modulePath(relative, flowFile: file.path), let data = FileManager.default.contents(atPath: target) else { return missing }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in data { hash = (hash ^ UInt64(b)) &* 0x100_0000_01b3 }
        return ServerResponse(status: 200, headers: [("Content-Type", "text/javascript; charset=utf-8"), ("Cache-Control", "no-cache"),
                                                     ("ETag", "\"\(String(hash, radix: 16))\"")], body: Array(data))
    }
}
