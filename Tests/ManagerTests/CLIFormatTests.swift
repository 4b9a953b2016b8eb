import OCI
import RPC
import Testing
@testable import berth

/// The CLI's formatting helpers against the outputs Docker (go-units,
/// text/tabwriter, text/template) gives for the same input.
@Suite struct CLIFormatTests {
    @Test(arguments: [
        (Int64(0), "0B"), (999, "999B"), (1000, "1kB"), (1024, "1.02kB"), (13_256, "13.3kB"),
        (4_261_000, "4.26MB"), (5_120_000, "5.12MB"), (1_200_000_000, "1.2GB"), (72_800_000, "72.8MB"),
        (999_500, "1e+03kB"),  // go-units' %.3g reaches the next power of ten and keeps the unit
    ])
    func decimalSizesWithThreeDigits(_ bytes: Int64, _ text: String) {
        #expect(HumanSize.decimal(bytes) == text)
    }

    @Test func goUnitsHumanSizeAndBytesSize() {
        #expect(HumanSize.human(1000) == "1kB")
        #expect(HumanSize.human(1024) == "1.024kB")
        #expect(HumanSize.human(1_048_576) == "1.049MB")
        #expect(HumanSize.human(3_420_000_000) == "3.42GB")
        #expect(HumanSize.human(5_372_000_000_000) == "5.372TB")
        #expect(HumanSize.binary(1024) == "1KiB")
        #expect(HumanSize.binary(1_048_576) == "1MiB")
        #expect(HumanSize.binary(Int64(3.42 * 1_073_741_824)) == "3.42GiB")
        #expect(HumanSize.binary(1_038_917_632) == "990.8MiB")
    }

    @Test(arguments: [
        (0.45, "Less than a second"), (1, "1 second"), (45, "45 seconds"), (59, "59 seconds"),
        (60, "About a minute"), (119, "About a minute"), (120, "2 minutes"), (35 * 60 + 10, "35 minutes"),
        (3600, "About an hour"), (3600 + 29 * 60, "About an hour"), (3600 + 30 * 60, "2 hours"), (24 * 3600, "24 hours"),
        (47 * 3600, "47 hours"), (48 * 3600, "2 days"), (13 * 86400, "13 days"), (14 * 86400, "2 weeks"),
        (59 * 86400, "8 weeks"), (60 * 86400, "2 months"), (365 * 86400, "12 months"), (730 * 86400, "2 years"),
    ] as [(Double, String)])
    func humanDurationAsGoUnits(_ seconds: Double, _ text: String) {
        #expect(HumanDuration.format(seconds: seconds) == text)
    }

    @Test func agoForTheCreatedColumn() {
        #expect(HumanDuration.ago(1000, now: 1000.5) == "Less than a second ago")
        #expect(HumanDuration.ago(0, now: 7200) == "2 hours ago")
        #expect(HumanDuration.ago(0, now: 90) == "About a minute ago")
    }

    @Test func tableColumnsAsDockerImages() {
        var t = TableWriter()
        t.add(["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"])
        t.add(["hello-world", "latest", "d2c94e258dcb", "7 months ago", "13.3kB"])
        #expect(t.render() == """
            REPOSITORY    TAG       IMAGE ID       CREATED        SIZE
            hello-world   latest    d2c94e258dcb   7 months ago   13.3kB

            """)
    }

    let image: JSONValue = [
        "ID": "d2c94e258dcb", "Repository": "hello-world", "Tag": "latest", "Size": 13256,
        "Config": ["Env": ["PATH=/usr/bin", "A=b"], "Labels": ["maintainer": "me", "org.x": "y"], "Cmd": nil],
        "RepoTags": ["hello-world:latest", "hello:1"],
    ]

    func render(_ format: String, _ data: JSONValue? = nil) throws -> String { try GoTemplate(format).render(data ?? image) }

    @Test func fieldsNestedFieldsAndJSON() throws {
        #expect(try render("{{.ID}}") == "d2c94e258dcb")
        #expect(try render("{{.Repository}}:{{.Tag}}") == "hello-world:latest")
        #expect(try render("{{.Config.Env}}") == "[PATH=/usr/bin A=b]")
        #expect(try render("{{json .Config.Env}}") == #"["PATH=/usr/bin","A=b"]"#)
        #expect(try render("{{json .Config.Cmd}}") == "null")
        #expect(try render("{{.Missing}}") == "<no value>")
        #expect(try render("{{.id}}") == "d2c94e258dcb")  // case-insensitive fallback for the API's camelCase
        #expect(try render("{{.Config.Labels}}") == "map[maintainer:me org.x:y]")
        #expect(try render("{{json .}}", ["b": 1, "a": [true]]) == #"{"b":1,"a":[true]}"#)
        #expect(try render(#"{{.ID}}\t{{.Tag}}"#) == "d2c94e258dcb\tlatest")
    }

    @Test func functionsAndPipes() throws {
        #expect(try render(#"{{index .Config.Labels "org.x"}}"#) == "y")
        #expect(try render(#"{{index .RepoTags 1}}"#) == "hello:1")
        #expect(try render(#"{{join .RepoTags ", "}}"#) == "hello-world:latest, hello:1")
        #expect(try render("{{upper .Tag}} {{lower \"ABC\"}} {{title \"hello world\"}}") == "LATEST abc Hello World")
        #expect(try render("{{.Repository | upper}}") == "HELLO-WORLD")
        #expect(try render("{{len .RepoTags}}") == "2")
        #expect(try render(#"{{truncate .ID 4}}"#) == "d2c9")
    }

    @Test func rangeIfWithAndTrimming() throws {
        #expect(try render("{{range .RepoTags}}[{{.}}]{{end}}") == "[hello-world:latest][hello:1]")
        #expect(try render("{{range .Nothing}}x{{else}}none{{end}}") == "none")
        #expect(try render("{{if .Config.Cmd}}cmd{{else}}no cmd{{end}}") == "no cmd")
        #expect(try render("{{with .Config}}{{.Labels.maintainer}}{{end}}") == "me")
        #expect(try render("a  {{- .Tag -}}  b") == "alatestb")
        #expect(try render("{{/* a comment */}}x") == "x")
    }

    @Test func tableFormatsPrintHeadersAndAlign() throws {
        let t = try GoTemplate(#"table {{.ID}}\t{{.Repository}}\t{{.Size}}"#)
        #expect(t.isTable)
        let rows: [JSONValue] = [image, ["ID": "0123456789ab", "Repository": "busybox", "Size": 4261000]]
        #expect(try t.renderRows(rows, titles: ["ID": "IMAGE ID", "Repository": "REPOSITORY"]) == """
            IMAGE ID       REPOSITORY    SIZE
            d2c94e258dcb   hello-world   13256
            0123456789ab   busybox       4261000

            """)
        // Without "table", rows are printed as rendered, one per line.
        #expect(try GoTemplate("{{.ID}}").renderRows(rows, titles: [:]) == "d2c94e258dcb\n0123456789ab\n")
    }

    @Test func errorsNameTheProblem() {
        #expect(throws: TemplateError("template: function \"nope\" not defined")) { try GoTemplate("{{nope .X}}") }
        #expect(throws: TemplateError("template: unclosed action")) { try GoTemplate("{{.X") }
        #expect(throws: TemplateError("template: missing {{end}} for {{range}}")) { try GoTemplate("{{range .X}}") }
        #expect(throws: TemplateError("template: can't evaluate field B in string")) { try GoTemplate("{{.Tag.B}}").render(image) }
    }
}
