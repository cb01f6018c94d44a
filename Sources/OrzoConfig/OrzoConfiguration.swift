import Configuration
import Foundation
import SystemPackage
import Yams

/// The effective configuration of a command: each ``Setting`` resolved with
/// precedence flag > environment > file > default, through swift-configuration's
/// provider hierarchy, and checked.
public struct OrzoConfiguration: Sendable {
    public enum Source: String, Sendable, Hashable {
        case flag, environment, file, `default`
    }

    public struct Resolved: Sendable, Hashable {
        public let value: String?
        public let source: Source

        public init(value: String?, source: Source) {
            self.value = value
            self.source = source
        }
    }

    /// Every setting, resolved (commands read those of their role).
    public let values: [String: Resolved]
    /// The file read, if any.
    public let file: String?

    public func string(_ key: String) -> String? {
        precondition(Setting.named(key) != nil, "unknown setting \(key)")
        return values[key]?.value
    }

    /// For settings validated as integers or numbers, with a default: never nil.
    public func int(_ key: String) -> Int { Int(string(key)!)! }
    public func double(_ key: String) -> Double { Double(string(key)!)! }
    public func bool(_ key: String) -> Bool { string(key) == "true" }
    public func hostPort(_ key: String) -> HostPort? { string(key).flatMap { HostPort(Substring($0)) } }

    /// Resolves every setting.
    /// - Parameters:
    ///   - file: a YAML (or, by its `.json` extension, JSON) file; nil for none.
    ///   - flags: the flags given, by setting key.
    ///   - environment: the process environment.
    public static func load(
        file: String?, flags: [String: String], environment: [String: String]
    ) async throws(ConfigurationError) -> OrzoConfiguration {
        var problems: [String] = []
        for key in flags.keys where Setting.named(key) == nil { problems.append("unknown setting '\(key)'") }

        var fileProvider: (any ConfigProvider)?
        if let file, let structure = try checkFileStructure(file) {
            problems += structure
            do {
                fileProvider =
                    file.hasSuffix(".json")
                    ? try await FileProvider<JSONSnapshot>(filePath: FilePath(file))
                    : try await FileProvider<YAMLSnapshot>(filePath: FilePath(file))
            } catch {
                // Our own findings say more than the parser's, when there are any.
                throw ConfigurationError(
                    file: file, problems: structure.isEmpty ? ["cannot read it: \(error)"] : structure)
            }
        }
        func values(_ pick: (Setting) -> String?) -> [AbsoluteConfigKey: ConfigValue] {
            var values: [AbsoluteConfigKey: ConfigValue] = [:]
            for setting in Setting.all {
                if let value = pick(setting) {
                    values[AbsoluteConfigKey(ConfigKey(setting.key))] = .init(.string(value), isSecret: false)
                }
            }
            return values
        }
        let flagProvider = InMemoryProvider(name: "flags", values: values { flags[$0.key] })
        let environmentProvider = InMemoryProvider(
            name: "environment", values: values { environment[$0.environment].flatMap { $0.isEmpty ? nil : $0 } })
        let reader = ConfigReader(providers: [flagProvider, environmentProvider] + (fileProvider.map { [$0] } ?? []))
        let layers: [(Source, ConfigReader)] =
            [
                (.flag, ConfigReader(provider: flagProvider)),
                (.environment, ConfigReader(provider: environmentProvider)),
            ]
            + (fileProvider.map { [(.file, ConfigReader(providers: [$0]))] } ?? [])

        var resolved: [String: Resolved] = [:]
        for setting in Setting.all {
            let key = ConfigKey(setting.key)
            guard let value = reader.string(forKey: key) else {
                resolved[setting.key] = Resolved(value: setting.defaultValue, source: .default)
                continue
            }
            let source = layers.first { $0.1.string(forKey: key) != nil }?.0 ?? .default
            if let problem = setting.validate(value) {
                let origin =
                    switch source {
                    case .flag: "--\(setting.flag)"
                    case .environment: setting.environment
                    case .file, .default: setting.key
                    }
                problems.append("\(origin): \(problem)")
            }
            resolved[setting.key] = Resolved(value: value, source: source)
        }
        guard problems.isEmpty else { throw ConfigurationError(file: file, problems: problems) }
        return OrzoConfiguration(values: resolved, file: file)
    }

    /// Unknown keys (a typo would otherwise be silently ignored) and values that
    /// are not single scalars; nil for a file with no content.
    static func checkFileStructure(_ file: String) throws(ConfigurationError) -> [String]? {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw ConfigurationError(file: file, problems: ["cannot read it: \(error.localizedDescription)"])
        }
        return try checkStructure(text: text, file: file)
    }

    /// ``checkFileStructure(_:)`` on a file's text (the fuzzer's entry: no file needed).
    public static func checkStructure(text: String, file: String? = nil) throws(ConfigurationError) -> [String]? {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)  // YAML is a superset of JSON: one parser checks both
        } catch {
            throw ConfigurationError(file: file, problems: ["not valid YAML or JSON: \(error)"])
        }
        guard let root else { return nil }  // an empty file (or only comments) sets nothing
        guard let mapping = root.mapping else { return ["the top level must be a mapping of keys"] }
        var problems: [String] = []
        func walk(_ mapping: Node.Mapping, prefix: String) {
            for (keyNode, value) in mapping {
                let key = prefix + (keyNode.string ?? "?")
                if let nested = value.mapping {
                    if Setting.all.contains(where: { $0.key.hasPrefix(key + ".") }) {
                        walk(nested, prefix: key + ".")
                    } else {
                        problems.append("unknown section '\(key)'\(suggestion(for: key))")
                    }
                } else if Setting.named(key) == nil {
                    problems.append("unknown key '\(key)'\(suggestion(for: key))")
                } else if value.scalar == nil {
                    problems.append("'\(key)' must be a single value")
                }
            }
        }
        walk(mapping, prefix: "")
        return problems
    }

    /// " (did you mean 'x'?)" for a key close to a known one.
    static func suggestion(for key: String) -> String {
        let candidates =
            Setting.all.map(\.key) + Set(Setting.all.compactMap { $0.key.split(separator: ".").first.map(String.init) })
        guard let best = candidates.min(by: { distance($0, key) < distance($1, key) }), distance(best, key) <= 3 else {
            return ""
        }
        return " (did you mean '\(best)'?)"
    }

    /// Levenshtein distance, for suggestions.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var row = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in stride(from: 1, through: b.count, by: 1) {
                let current = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = current
            }
        }
        return row[b.count]
    }
}

/// A configuration that cannot be used, with every problem found.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public let file: String?
    public let problems: [String]

    public var description: String {
        (file.map { "configuration \($0):" } ?? "configuration:") + problems.map { "\n  - \($0)" }.joined()
    }
}
