import ClassroomServer
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

let chromedriver = "/usr/bin/chromedriver"
let chromium = "/usr/bin/chromium"
let haveChromium = FileManager.default.isExecutableFile(atPath: chromedriver) && FileManager.default.isExecutableFile(atPath: chromium)

/// Where the browser test leaves its screenshot of the dashboard.
let dashboardScreenshot = "/tmp/boxlab-classroom-dashboard.png"

/// Debian's chromium, headless, driven through chromium-driver (WebDriver on loopback).
final class WebDriver {
    let process = Process()
    let base: String
    var session = ""
    let profile: String

    init() async throws {
        // A free port: bind to 0, read it, close (the driver takes it a moment later).
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length); return getsockname(fd, $0, &length) }
        }
        let port = Int(UInt16(bigEndian: address.sin_port))
        close(fd)
        base = "http://127.0.0.1:\(port)"
        profile = try temporaryDirectory()
        process.executableURL = URL(fileURLWithPath: chromedriver)
        process.arguments = ["--port=\(port)", "--allowed-ips=127.0.0.1"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let (status, _) = try? await rawHTTP("GET", base + "/status", seconds: 2), status == 200 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let capabilities: [String: Any] = ["capabilities": ["alwaysMatch": ["goog:chromeOptions": [
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1400,900", "--user-data-dir=" + profile],
        ]]]]
        let (status, body) = try await rawHTTP("POST", base + "/session", json: capabilities)
        let value = (try JSONSerialization.jsonObject(with: body) as? [String: Any])?["value"] as? [String: Any]
        guard status == 200, let id = value?["sessionId"] as? String else {
            throw WebDriverError(text: String(decoding: body, as: UTF8.self))
        }
        session = id
    }

    struct WebDriverError: Error { var text: String }

    @discardableResult
    func command(_ method: String, _ path: String, _ json: [String: Any]? = nil) async throws -> Any? {
        let (status, body) = try await rawHTTP(method, base + "/session/" + session + path, json: json ?? (method == "POST" ? [String: Any]() : nil))
        guard status == 200 else { throw WebDriverError(text: String(decoding: body, as: UTF8.self)) }
        return (try JSONSerialization.jsonObject(with: body) as? [String: Any])?["value"]
    }

    func script(_ source: String) async throws -> Any? {
        try await command("POST", "/execute/sync", ["script": source, "args": []])
    }

    /// Polls `source` until it returns `expected` (as a string), or `seconds` pass.
    func wait(for source: String, toBe expected: String, seconds: Double = 60) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let v = try await script(source), "\(v)" == expected { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    func quit() async {
        _ = try? await rawHTTP("DELETE", base + "/session/" + session, seconds: 10)
        // chromium-driver ignores SIGTERM here; the session's DELETE closed the browser already.
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: profile)
    }
}

@Suite(.timeLimit(.minutes(5))) struct DashboardBrowserTests {
    /// The dashboard of a live server in headless chromium: an attendee's pass appears without a reload.
    @Test(.enabled(if: haveChromium, "needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)"))
    func aPassAppearsWithoutReload() async throws {
        let t = try await TestRoom()
        let (code, token) = await (t.room.code, t.room.token)
        let j = JournalBuilder.started(passing: 1, showingNext: true)
        try await t.app.test(.live) { client in
            let port = try #require(client.port)
            let a = try await client.join(code, name: "alice")
            #expect(try await client.send(a.secret, from: 0, Array(j.lines[0..<2])).0 == .ok)

            let browser = try await WebDriver()
            do {
                try await browser.command("POST", "/url", ["url": "http://127.0.0.1:\(port)/?token=\(token)"])
                let cell = "document.querySelector('tr[data-attendee=\"\(a.id)\"] td[data-step=\"\(firstLab.id)/\(steps[0])\"]')"
                #expect(try await browser.wait(for: "return \(cell)?.dataset.state || 'absent'", toBe: "current"))
                // The token left the address bar; a marker shows whether the page is reloaded.
                #expect(try await browser.script("return location.search") as? String == "")
                try await browser.script("window.__marker = 'kept'; return null")

                #expect(try await client.send(a.secret, from: 2, Array(j.lines[2...])).0 == .ok)
                #expect(try await browser.wait(for: "return \(cell)?.dataset.state || 'absent'", toBe: "passed"))
                #expect(try await browser.wait(
                    for: "return document.querySelector('tr[data-attendee=\"\(a.id)\"] td[data-step=\"\(firstLab.id)/\(steps[1])\"]')?.dataset.state",
                    toBe: "current"))
                #expect(try await browser.script("return window.__marker") as? String == "kept")
                #expect(try await browser.script("return document.getElementById('status').textContent.startsWith('live')") as? Bool == true)

                let png = try #require(try await browser.command("GET", "/screenshot") as? String)
                try #require(Data(base64Encoded: png)).write(to: URL(fileURLWithPath: dashboardScreenshot))
                print("dashboard screenshot: \(dashboardScreenshot)")
            } catch {
                await browser.quit()
                throw error
            }
            await browser.quit()
        }
    }

    /// The map button asks for an attendee's map; when their lab answers, the panel shows it without a reload.
    @Test(.enabled(if: haveChromium, "needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)"))
    func theMapButtonShowsTheAttendeesMap() async throws {
        let t = try await TestRoom()
        let (code, token) = await (t.room.code, t.room.token)
        try await t.app.test(.live) { client in
            let port = try #require(client.port)
            let a = try await client.join(code, name: "alice")
            let browser = try await WebDriver()
            do {
                try await browser.command("POST", "/url", ["url": "http://127.0.0.1:\(port)/?token=\(token)"])
                let button = "document.querySelector('button[data-map=\"\(a.id)\"]')"
                #expect(try await browser.wait(for: "return \(button) ? 'there' : 'absent'", toBe: "there"))
                try await browser.script("\(button).click(); return null")
                // The click asked: the server has the request, and the attendee is told so.
                let deadline = Date().addingTimeInterval(60)
                while try await t.classroom.store.map(attendee: a.id)?.requested == nil, Date() < deadline {
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(try await MapTests.mapRequested(client, a.secret) == true)
                #expect(try await browser.wait(for: "return String(document.getElementById('mappanel').hidden)", toBe: "false"))
                let map = "container c1 abc123 running\n  processes: host pid 4242, pid 1, sh (PID 1 of its pid namespace)\n"
                #expect(try await MapTests.postMap(client, a.secret, ByteBuffer(string: map)).0 == .ok)
                #expect(try await browser.wait(for: "return document.getElementById('maptext').textContent", toBe: map))
                #expect(try await browser.wait(for: "return String(document.getElementById('mapstate').textContent.startsWith('sent '))", toBe: "true"))
            } catch {
                await browser.quit()
                throw error
            }
            await browser.quit()
        }
    }
}
