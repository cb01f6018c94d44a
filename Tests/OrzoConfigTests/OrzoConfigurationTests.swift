import Foundation
import OrzoConfig
import Testing

@Suite("configuration: flag > environment > file > default", .timeLimit(.minutes(5)))
struct OrzoConfigurationTests {
    static func file(_ text: String, extension ext: String = "yaml") throws -> String {
        let path = NSTemporaryDirectory() + "orzo-config-\(UInt64.random(in: 0..<UInt64.max)).\(ext)"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("each layer wins over the ones below it, key by key")
    func precedence() async throws {
        let path = try Self.file(
            """
            # every layer sets workers; lower layers set the rest
            data_dir: /srv/orzo
            metricd:
              workers: 3
              lease_seconds: 45
            ingest:
              ack_endpoint: tcp://0.0.0.0:6581
            """)
        let configuration = try await OrzoConfiguration.load(
            file: path, flags: ["metricd.workers": "5"],
            environment: ["ORZO_WORKERS": "4", "ORZO_LEASE_SECONDS": "50", "ORZO_QUERY": "ipc:///run/orzo/query"])
        #expect(configuration.values["metricd.workers"] == .init(value: "5", source: .flag))
        #expect(configuration.values["metricd.lease_seconds"] == .init(value: "50", source: .environment))
        #expect(configuration.values["query.endpoint"] == .init(value: "ipc:///run/orzo/query", source: .environment))
        #expect(configuration.values["ingest.ack_endpoint"] == .init(value: "tcp://0.0.0.0:6581", source: .file))
        #expect(configuration.values["data_dir"] == .init(value: "/srv/orzo", source: .file))
        #expect(configuration.values["ingest.push_endpoint"] == .init(value: "tcp://127.0.0.1:5580", source: .default))
        #expect(configuration.values["ceph.conf"] == .init(value: nil, source: .default))
        #expect(configuration.int("metricd.workers") == 5)

        // Without the flag the environment wins, without both the file.
        let fromEnvironment = try await OrzoConfiguration.load(
            file: path, flags: [:], environment: ["ORZO_WORKERS": "4"])
        #expect(fromEnvironment.int("metricd.workers") == 4)
        let fromFile = try await OrzoConfiguration.load(file: path, flags: [:], environment: [:])
        #expect(fromFile.int("metricd.workers") == 3)
        #expect(fromFile.values["metricd.workers"]?.source == .file)
    }

    @Test("JSON files, and an empty environment variable counts as unset")
    func json() async throws {
        let path = try Self.file(
            #"{"metrics": {"endpoint": "127.0.0.1:9580"}, "log": {"level": "debug"}}"#, extension: "json")
        let configuration = try await OrzoConfiguration.load(
            file: path, flags: [:], environment: ["ORZO_LOG_LEVEL": ""])
        #expect(configuration.hostPort("metrics.endpoint") == HostPort("127.0.0.1:9580"))
        #expect(configuration.values["log.level"] == .init(value: "debug", source: .file))
    }

    @Test("every problem is reported at once: unknown keys with a suggestion, bad values, where each came from")
    func problems() async throws {
        let path = try Self.file(
            """
            ingest:
              ack_endpont: tcp://0.0.0.0:5581
              push_endpoint: 127.0.0.1:5580
            metricd:
              workers: [1, 2]
            stasd:
              prefix: x
            """)
        do {
            _ = try await OrzoConfiguration.load(
                file: path, flags: ["statsd.flush_interval": "-1"], environment: ["ORZO_LOG_LEVEL": "loud"])
            Issue.record("a bad configuration was accepted")
        } catch {
            #expect(
                error.problems.sorted()
                    == [
                        "--flush-interval: '-1' is not a positive number",
                        "'metricd.workers' must be a single value",
                        "ORZO_LOG_LEVEL: 'loud' is not a log level (trace, debug, info, notice, warning, error, critical)",
                        "ingest.push_endpoint: '127.0.0.1:5580' is not a ZeroMQ endpoint (tcp://HOST:PORT, ipc://PATH or inproc://NAME)",
                        "unknown key 'ingest.ack_endpont' (did you mean 'ingest.ack_endpoint'?)",
                        "unknown section 'stasd' (did you mean 'statsd'?)",
                    ].sorted())
        }
    }

    @Test("a missing file, a file that is not YAML, and a top level that is not a mapping")
    func unreadable() async throws {
        for (path, expected) in [
            ("/nonexistent/orzo.yaml", "cannot read it"), (try Self.file("a: [unclosed"), "not valid YAML or JSON"),
            (try Self.file("- a\n- b"), "the top level must be a mapping of keys"),
        ] {
            await #expect {
                _ = try await OrzoConfiguration.load(file: path, flags: [:], environment: [:])
            } throws: { error in
                (error as? ConfigurationError)?.problems.first?.contains(expected) == true
            }
        }
        // An empty file sets nothing, which is valid.
        let empty = try await OrzoConfiguration.load(file: try Self.file(""), flags: [:], environment: [:])
        #expect(empty.values["data_dir"]?.source == .default)
    }

    @Test("every setting's default passes its own validation, and keys, variables and flags are unique")
    func table() {
        for setting in Setting.all {
            if let value = setting.defaultValue, !value.isEmpty {
                #expect(setting.validate(value) == nil, "\(setting.key)")
            }
        }
        #expect(Set(Setting.all.map(\.key)).count == Setting.all.count)
        #expect(Set(Setting.all.map(\.environment)).count == Setting.all.count)
        #expect(Set(Setting.all.map(\.flag)).count == Setting.all.count)
    }
}

@Test("docs/configuration.md lists every setting with its variable, flag and default")
func documented() throws {
    let docs = try String(
        contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../docs/configuration.md"), encoding: .utf8)
    for setting in Setting.all {
        let row = "| `\(setting.key)` | `\(setting.environment)` | `--\(setting.flag)` | "
        #expect(
            docs.contains(row),
            "docs/configuration.md lacks \(setting.key); regenerate with orzo config keys --markdown")
    }
}
