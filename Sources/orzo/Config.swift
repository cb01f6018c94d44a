import ArgumentParser
import Foundation
import OrzoConfig

extension Orzo {
    struct ConfigCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "config", abstract: "Check a configuration file and list the settings.",
            subcommands: [Check.self, Keys.self])

        struct Check: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Validate a configuration file and print the effective configuration.",
                discussion: """
                    Each setting is shown with its value and where it came from: flag, environment, \
                    file or default (precedence in that order). The environment of this command counts, \
                    as it would for a service started from the same shell. Exits with status 1 and \
                    every problem found (unknown keys, bad values) if the file cannot be used.
                    """)
            @Argument(help: ArgumentHelp("The YAML (or .json) file; ORZO_CONFIG if absent.", valueName: "file"))
            var file: String?
            @Option(help: "Output: table or json.") var format: ClientOptions.OutputFormat = .table

            func run() async throws {
                let path = file ?? environment("ORZO_CONFIG")
                let configuration: OrzoConfiguration
                do {
                    configuration = try await OrzoConfiguration.load(
                        file: path, flags: [:], environment: ProcessInfo.processInfo.environment)
                } catch {
                    FileHandle.standardError.write(Data("\(error.description)\n".utf8))
                    throw ExitCode(1)
                }
                if format == .json {
                    var object: [String: Any] = [:]
                    for setting in Setting.all {
                        let resolved = configuration.values[setting.key]!
                        object[setting.key] =
                            ["value": resolved.value as Any? ?? NSNull(), "source": resolved.source.rawValue]
                            as [String: Any]
                    }
                    print(
                        String(
                            decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]),
                            as: UTF8.self))
                    return
                }
                print("configuration \(path ?? "(no file)"): valid")
                printTable(
                    ["key", "value", "source"],
                    Setting.all.map { setting in
                        let resolved = configuration.values[setting.key]!
                        return [setting.key, resolved.value ?? "(unset)", resolved.source.rawValue]
                    })
            }
        }

        struct Keys: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "List every setting: file key, environment variable, flag, default, commands, meaning.")
            @Flag(help: "A Markdown table, as in docs/configuration.md.") var markdown = false

            func run() async throws {
                let header = ["key", "environment", "flag", "default", "value", "commands", "meaning"]
                let rows = Setting.all.map { setting in
                    [
                        setting.key, setting.environment, "--\(setting.flag)",
                        setting.defaultValue.map { $0.isEmpty ? "(empty)" : $0 } ?? "(unset)", setting.kind.rawValue,
                        setting.roles.joined(separator: ", "), setting.help,
                    ]
                }
                guard markdown else { return printTable(header, rows) }
                print("| " + header.joined(separator: " | ") + " |")
                print("|" + String(repeating: " --- |", count: header.count))
                for row in rows {
                    print(
                        "| `\(row[0])` | `\(row[1])` | `\(row[2])` | `\(row[3])` | "
                            + row[4...].joined(separator: " | ") + " |")
                }
            }
        }
    }
}
