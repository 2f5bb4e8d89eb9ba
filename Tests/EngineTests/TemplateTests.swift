import Testing
@testable import Engine

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

// MARK: - JSONValue

@Suite("JSONValue")
struct JSONValueTests {
    @Test("Pretty printing matches docker inspect's layout")
    func prettyPrinting() {
        let value: JSONValue = [
            "Id": "abc",
            "State": ["Running": true, "Pid": 42, "Error": ""],
            "Args": ["sh", "-c"],
            "Labels": .object([]),
            "Mounts": [],
            "Ratio": 0.5,
            "Gone": .null,
        ]
        #expect(value.prettyPrinted() == """
            {
                "Id": "abc",
                "State": {
                    "Running": true,
                    "Pid": 42,
                    "Error": ""
                },
                "Args": [
                    "sh",
                    "-c"
                ],
                "Labels": {},
                "Mounts": [],
                "Ratio": 0.5,
                "Gone": null
            }
            """)
    }

    @Test("Pretty printing honours a custom indent")
    func customIndent() {
        let value: JSONValue = ["a": [1, 2]]
        #expect(value.prettyPrinted(indent: "\t") == "{\n\t\"a\": [\n\t\t1,\n\t\t2\n\t]\n}")
    }

    @Test("Compact printing has no whitespace at all")
    func compactPrinting() {
        let value: JSONValue = ["a": [1, true, .null], "b": ["c": "d"], "e": [], "f": .object([])]
        #expect(value.compact() == #"{"a":[1,true,null],"b":{"c":"d"},"e":[],"f":{}}"#)
    }

    @Test("Strings are escaped like Go's encoder, including <, > and &")
    func goEscapes() {
        let value = JSONValue.string("q\"b\\n\n t\t r\r \u{01}\u{08}\u{0C}\u{1F} <a&b> \u{2028} é 😀")
        #expect(value.compact() == #""q\"b\\n\n t\t r\r \u0001\b\f\u001f \u003ca\u0026b\u003e \u2028 é 😀""#)
    }

    @Test("HTML escaping can be turned off, as docker's daemon does")
    func noHTMLEscaping() {
        let value: JSONValue = ["cmd": "a<b && c>d"]
        #expect(value.compact(escapeHTML: false) == #"{"cmd":"a<b && c>d"}"#)
        #expect(value.prettyPrinted(escapeHTML: false) == "{\n    \"cmd\": \"a<b && c>d\"\n}")
    }

    @Test("Doubles print like Go's encoder", arguments: [
        (1024.0, "1024"), (1.5, "1.5"), (-0.25, "-0.25"), (0.1, "0.1"),
        (1e20, "100000000000000000000"), (1e21, "1e+21"), (1.5e300, "1.5e+300"),
        (0.000001, "0.000001"), (1e-7, "1e-7"), (2.5e-10, "2.5e-10"), (123456789.125, "123456789.125"),
    ])
    func doubles(value: Double, expected: String) {
        #expect(JSONValue.double(value).compact() == expected)
    }

    @Test("Parsing then printing compactly reproduces the input")
    func roundTrip() throws {
        let text = #"{"b":[1,-2,3.25,1e+21,true,false,null],"a":{"x":"\u003cé\n😀\"","":[]},"c":{}}"#
        #expect(try JSONValue.parse(text).compact() == text)
    }

    @Test("Parsing keeps key order and tells integers from doubles")
    func parseTypes() throws {
        let value = try JSONValue.parse(#" {"z": 1, "a": 2.5, "m": 9223372036854775807, "big": 9223372036854775808, "e": 1E2} "#)
        #expect(value == .object([
            ("z", .int(1)), ("a", .double(2.5)), ("m", .int(Int64.max)),
            ("big", .double(9223372036854775808)), ("e", .double(100)),
        ]))
    }

    @Test("Unicode escapes and surrogate pairs decode")
    func unicodeEscapes() throws {
        #expect(try JSONValue.parse(#""\u00e9\ud83d\ude00\/\t""#) == .string("é😀/\t"))
    }

    @Test("Parse errors give the byte offset and what was expected", arguments: [
        (#"{"a": [1, 2"#, 11, "',' or ']'", "end of input"),          // truncated
        ("[1, 2,]", 6, "value", "']'"),                                 // trailing comma in an array
        (#"{"a": 1,}"#, 8, "string key", "'}'"),                        // trailing comma in an object
        (#""bad \x escape""#, 6, #"escape character (one of " \ / b f n r t u)"#, "'x'"),
        (#""\ud83d""#, 7, #"'\u' low surrogate after high surrogate"#, "'\"'"),
        ("[1] 2", 4, "end of input", "'2'"),
        ("", 0, "value", "end of input"),
        ("tru", 3, "'true'", "end of input"),
        ("-", 1, "digit", "end of input"),
    ])
    func parseErrors(input: String, offset: Int, expected: String, found: String) {
        let error = #expect(throws: JSONParseError.self) { try JSONValue.parse(input) }
        #expect(error?.offset == offset)
        #expect(error?.expected == expected)
        #expect(error?.found == found)
    }

    @Test("A parse error describes itself in one line")
    func parseErrorDescription() {
        let error = #expect(throws: JSONParseError.self) { try JSONValue.parse("[1, 2,]") }
        #expect(error?.description == "invalid JSON at byte 6: expected value, found ']'")
    }

    @Test("Absurdly deep nesting is refused instead of overflowing the stack")
    func nestingLimit() {
        let error = #expect(throws: JSONParseError.self) {
            try JSONValue.parse(String(repeating: "[", count: 600))
        }
        #expect(error?.offset == 512)
    }

    @Test("Equality is structural and respects key order")
    func equality() {
        #expect(JSONValue(dictionaryLiteral: ("a", 1), ("b", 2)) == ["a": 1, "b": 2])
        #expect(JSONValue(dictionaryLiteral: ("a", 1), ("b", 2)) != ["b": 2, "a": 1])
        #expect(JSONValue.int(1) != .double(1))
        #expect(JSONValue.array([.null]) == [.null])
    }

    @Test("Subscripts reach into objects and arrays")
    func subscripts() {
        #expect(sample["State"]?["Pid"] == 4242)
        #expect(sample["Args"]?[1] == "daemon off;")
        #expect(sample["Nope"] == nil)
        #expect(sample["Args"]?[2] == nil)
        #expect(sample["Args"]?["key"] == nil)
    }
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
