import Testing
import Engine
@testable import DockerFormat

/// A trimmed-down `docker inspect` document shared by the template tests.
private let sample: JSONValue = [
    "Id": "4f2a9c",
    "Name": "/web",
    "Args": ["-g", "daemon off;"],
    "State": ["Status": "running", "Running": true, "Pid": 4242, "ExitCode": 0],
    "Config": [
        "Image": "nginx:1.27",
        "Labels": ["tier": "front", "com.example.team": "web", "app": "nginx"],
        "Env": [],
    ],
]

/// Parses and renders in one step.
private func render(_ source: String, _ value: JSONValue = sample) throws -> String {
    try FormatTemplate(source).render(value)
}

// MARK: - FormatTemplate

@Suite("FormatTemplate")
struct FormatTemplateTests {
    @Test("Text outside actions is copied verbatim, backslashes included")
    func literalText() throws {
        #expect(try render(#"id: \n{{.Id}}\t"#) == #"id: \n4f2a9c\t"#)
        #expect(try render("no actions\n") == "no actions\n")
    }

    @Test("{{.}} prints the value itself")
    func dot() throws {
        #expect(try render("{{.}}", "hello") == "hello")
        #expect(try render("{{.}}", sample["State"]!) == "map[ExitCode:0 Pid:4242 Running:true Status:running]")
    }

    @Test("Field chains walk nested objects")
    func fieldChains() throws {
        #expect(try render("{{.State.Pid}} {{.Config.Labels.app}} {{.State.Running}}") == "4242 nginx true")
    }

    @Test("json prints compact JSON without HTML escaping")
    func json() throws {
        #expect(try render("{{json .State}}") == #"{"Status":"running","Running":true,"Pid":4242,"ExitCode":0}"#)
        #expect(try render("{{json .Args}}") == #"["-g","daemon off;"]"#)
        #expect(try render("{{json .}}", ["cmd": "a<b && c>d"]) == #"{"cmd":"a<b && c>d"}"#)
    }

    @Test("index reads labels with dots in their keys and array elements")
    func index() throws {
        #expect(try render(#"{{index .Config.Labels "com.example.team"}}/{{index .Args 1}}"#) == "web/daemon off;")
    }

    @Test("index on a missing key prints <no value>")
    func indexMissing() throws {
        #expect(try render(#"{{index .Config.Labels "missing"}}"#) == "<no value>")
    }

    @Test("range rebinds dot to each element")
    func rangeArray() throws {
        #expect(try render("{{range .Args}}[{{.}}]{{end}}") == "[-g][daemon off;]")
    }

    @Test("range over an object visits keys in sorted order")
    func rangeObject() throws {
        #expect(try render("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}} {{end}}")
            == "app=nginx com.example.team=web tier=front ")
    }

    @Test("range can bind the index and the element")
    func rangeIndex() throws {
        #expect(try render("{{range $i, $a := .Args}}{{$i}}:{{$a}};{{end}}") == "0:-g;1:daemon off;;")
    }

    @Test("range runs its else branch for an empty collection")
    func rangeElse() throws {
        #expect(try render("{{range .Config.Env}}x{{else}}none{{end}}") == "none")
    }

    @Test("if uses Go truthiness", arguments: [
        (JSONValue.bool(false), "no"), (.bool(true), "yes"), (.int(0), "no"), (.int(7), "yes"),
        (.double(0), "no"), (.double(0.5), "yes"), (.string(""), "no"), (.string("x"), "yes"),
        (.null, "no"), (.array([]), "no"), (.array([.int(0)]), "yes"),
        (.object([]), "no"), (.object([("k", .null)]), "yes"),
    ])
    func truthiness(value: JSONValue, expected: String) throws {
        #expect(try render("{{if .V}}yes{{else}}no{{end}}", ["V": value]) == expected)
    }

    @Test("else if chains share one end")
    func elseIf() throws {
        let source = #"{{if eq .State.Status "exited"}}stopped{{else if .State.Running}}up{{else}}?{{end}}"#
        #expect(try render(source) == "up")
    }

    @Test("with rebinds dot, and skips empty values")
    func with() throws {
        #expect(try render("{{with .State}}{{.Status}}{{end}}|{{with .Config.Env}}x{{else}}empty{{end}}")
            == "running|empty")
    }

    @Test("println, upper and lower")
    func printlnUpperLower() throws {
        #expect(try render("{{println .Name}}") == "/web\n")
        #expect(try render(#"{{println .Name .State.Pid}}{{upper .Name}} {{lower "MiXed"}}"#) == "/web 4242\n/WEB mixed")
        // Go maps each character on its own: "ß" has no one-character upper case.
        #expect(try render(#"{{upper "straße"}}"#) == "STRAßE")
    }

    @Test("join and len")
    func joinAndLen() throws {
        #expect(try render(#"{{join .Args ","}} {{len .Args}} {{len .Config.Labels}} {{len .Name}}"#)
            == "-g,daemon off; 2 3 4")
    }

    @Test("printf supports %s %d %v %q, widths and flags")
    func printf() throws {
        #expect(try render(#"{{printf "%s-%d" .Name .State.Pid}}"#) == "/web-4242")
        #expect(try render(#"{{printf "%v|%q|%5d|%-5s|%05d|%%" .Args .Name .State.ExitCode "ab" -42}}"#)
            == #"[-g daemon off;]|"/web"|    0|ab   |-0042|%"#)
    }

    @Test("%q quotes as strconv.Quote: the short escapes, \\x below 0x80, \\u above, printable as it is")
    func quoteEscapes() {
        #expect(GoFormat.quote("\"\\\u{07}\u{08}\u{0C}\n\r\t\u{0B} é\u{01}\u{7F}\u{2028}\u{10FFFF}")
            == #""\"\\\a\b\f\n\r\t\v é\x01\x7f\u2028\U0010ffff""#)
    }

    @Test("printf reports mistakes the way Go does")
    func printfMistakes() throws {
        #expect(try render(#"{{printf "%d %s" .Name}}"#) == "%!d(string=/web) %!s(MISSING)")
        #expect(try render(#"{{printf "%s" 1 2}}"#) == "%!s(int=1)%!(EXTRA int=2)")
    }

    @Test("Widths and precisions past Go's fmt limit end the format; deep nesting is an error, not a crash")
    func limits() throws {
        // Go's parsenum gives up once the number passes 1e6: the rest of the format is gone (%!(NOVERB)).
        #expect(try render(#"{{printf "%999999999d|" 1}}"#) == "%!(NOVERB)%!(EXTRA int=1)")
        #expect(try render(#"{{printf "%.99999999999999999999s" "x"}}"#) == "%!(NOVERB)%!(EXTRA string=x)")
        #expect(try render(#"{{printf "%1000000d" 1}}"#).count == 1_000_000)
        let deep = FormatTemplate.self
        let parens = "{{" + String(repeating: "(", count: 101) + "1" + String(repeating: ")", count: 101) + "}}"
        #expect(throws: TemplateError.self) { try deep.init(parens) }
        let ifs = String(repeating: "{{if 1}}", count: 101) + "x" + String(repeating: "{{end}}", count: 101)
        #expect(throws: TemplateError.self) { try deep.init(ifs) }
        let hundred = String(repeating: "{{with 1}}", count: 50) + "{{" + String(repeating: "(", count: 50) + "7"
            + String(repeating: ")", count: 50) + "}}" + String(repeating: "{{end}}", count: 50)
        #expect(try render(hundred) == "7")
    }

    @Test("Trim markers remove the whitespace next to an action")
    func trimMarkers() throws {
        #expect(try render("a  {{- .Name -}}  \n b") == "a/webb")
        #expect(try render("x {{-3}}") == "x -3")  // no space after the dash: a negative number
    }

    @Test("String literals interpret escapes; raw strings don't")
    func stringLiterals() throws {
        #expect(try render(#"{{"a\tb\n\"c\"\u00e9"}}"#) == "a\tb\n\"c\"é")
        #expect(try render(#"{{`a\tb`}}"#) == #"a\tb"#)
    }

    @Test("Integer literals work as arguments and on their own")
    func integers() throws {
        #expect(try render(#"{{printf "%d+%d" 40 2}} {{7}} {{index .Args 0}}"#) == "40+2 7 -g")
    }

    @Test("Values print like Go's fmt: nil, arrays, sorted maps, numbers")
    func valuePrinting() throws {
        let value: JSONValue = [
            "N": .null, "D": 1024.0, "F": 0.5, "Big": 1e6,
            "A": [1, "x", true, .null], "O": ["b": 2, "a": ["c": 3]],
        ]
        #expect(try render("{{.N}} {{.D}} {{.F}} {{.Big}} {{.A}} {{.O}}", value)
            == "<nil> 1024 0.5 1e+06 [1 x true <nil>] map[a:map[c:3] b:2]")
    }

    @Test("Pipes pass the previous value as the last argument")
    func pipes() throws {
        #expect(try render(#"{{.Name | upper | printf "[%s]"}} {{.Args | len}}"#) == "[/WEB] 2")
    }

    @Test("Variables, including $ for the root inside range")
    func variables() throws {
        #expect(try render("{{$n := .Name}}{{range .Args}}{{$n}}:{{.}} {{end}}") == "/web:-g /web:daemon off; ")
        #expect(try render("{{range .Args}}{{$.Id}}{{end}}") == "4f2a9c4f2a9c")
    }

    @Test("Comparison and logic functions")
    func comparisons() throws {
        #expect(try render("{{if and .State.Running (gt .State.Pid 0)}}ok{{end}}") == "ok")
        #expect(try render(#"{{eq .State.Status "paused" "running"}} {{ne 1 2}} {{lt "a" "b"}} {{not .State.Running}}"#)
            == "true true true false")
        #expect(try render(#"{{or .Config.Env "fallback"}}"#) == "fallback")
    }

    @Test("split and title")
    func splitAndTitle() throws {
        #expect(try render(#"{{split "a:b::c" ":"}} {{title "hello wide-world"}}"#) == "[a b  c] Hello Wide-World")
    }

    @Test("Comments print nothing")
    func comments() throws {
        #expect(try render("a{{/* note */}}b {{- /* trimmed */ -}} c") == "abc")
    }

    // MARK: Errors

    @Test("An unclosed action is a parse error, worded like docker's")
    func unclosedAction() {
        let error = #expect(throws: TemplateError.self) { try FormatTemplate("{{.Name") }
        #expect(error?.phase == .parsing)
        #expect(error?.description == "template parsing error: template: :1: unclosed action")
    }

    @Test("Unknown functions are rejected while parsing")
    func unknownFunction() {
        let error = #expect(throws: TemplateError.self) { try FormatTemplate("{{nope .Name}}") }
        #expect(error?.message == #"template: :1: function "nope" not defined"#)
    }

    @Test("A missing field is an execution error that names the path")
    func missingField() {
        let error = #expect(throws: TemplateError.self) { try render("{{.State.Nope}}") }
        #expect(error?.phase == .executing)
        #expect(error?.message == #"template: :1:8: executing "" at <.State.Nope>: map has no entry for key "Nope""#)
    }

    @Test("Execution errors on later lines give line and column")
    func laterLine() {
        let error = #expect(throws: TemplateError.self) { try render("line one\n  {{.Nope}}") }
        #expect(error?.message == #"template: :2:4: executing "" at <.Nope>: map has no entry for key "Nope""#)
    }

    @Test("A field of a non-object names the type")
    func fieldOfString() {
        let error = #expect(throws: TemplateError.self) { try render("{{.Name.First}}") }
        #expect(error?.message == #"template: :1:7: executing "" at <.Name.First>: can't evaluate field First in type string"#)
    }

    @Test("Structural mistakes are parse errors", arguments: [
        ("{{if .State.Running}}yes", "template: :1: unexpected EOF"),
        ("x{{end}}", "template: :1: unexpected {{end}}"),
        ("{{$x}}", #"template: :1: undefined variable "$x""#),
        ("{{}}", "template: :1: missing value for command"),
        ("{{if}}{{end}}", "template: :1: missing value for if"),
        (#"{{"abc}}"#, "template: :1: unterminated quoted string"),
        ("{{(len .Args}}", "template: :1: unclosed left paren"),
        ("{{.Name}}\n{{12ab}}", #"template: :2: bad number syntax: "12ab""#),
    ])
    func parseErrors(source: String, message: String) {
        let error = #expect(throws: TemplateError.self) { try FormatTemplate(source) }
        #expect(error?.message == message)
    }

    @Test("Failing function calls name the call")
    func callErrors() {
        let outOfRange = #expect(throws: TemplateError.self) { try render("{{index .Args 5}}") }
        #expect(outOfRange?.message
            == #"template: :1:2: executing "" at <index .Args 5>: error calling index: index out of range: 5"#)
        let arity = #expect(throws: TemplateError.self) { try render("{{len}}") }
        #expect(arity?.message == #"template: :1:2: executing "" at <len>: wrong number of args for len: want 1 got 0"#)
        let type = #expect(throws: TemplateError.self) { try render("{{upper .State.Pid}}") }
        #expect(type?.message
            == #"template: :1:14: executing "" at <.State.Pid>: wrong type for value; expected string; got int"#)
    }
}
