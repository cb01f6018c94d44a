/// Chooses the archive policy of a metric created on first use, by its name.
public struct ArchivePolicyRule: Hashable, Sendable {
    public let name: String
    /// A shell-style glob: `*`, `?`, `[...]` and `[!...]`.
    public let metricPattern: String
    public let archivePolicyName: String

    public init(name: String, metricPattern: String, archivePolicyName: String) throws(ArchivePolicyError) {
        guard !name.isEmpty else { throw .invalidRule("A rule needs a name") }
        guard !metricPattern.isEmpty else { throw .invalidRule("A rule needs a metric pattern") }
        guard !archivePolicyName.isEmpty else { throw .invalidRule("A rule needs an archive policy name") }
        self.name = name
        self.metricPattern = metricPattern
        self.archivePolicyName = archivePolicyName
    }

    public func matches(_ metricName: String) -> Bool {
        Glob(metricPattern).matches(metricName)
    }

    /// The rule that applies to `metricName`: rules are tried by pattern length,
    /// longest first, then by name (the wire protocol's order), and the first that
    /// matches wins.
    public static func match(_ metricName: String, in rules: [ArchivePolicyRule]) -> ArchivePolicyRule? {
        rules.sorted {
            let (a, b) = ($0.metricPattern.count, $1.metricPattern.count)
            return a != b ? a > b : $0.name < $1.name
        }.first { $0.matches(metricName) }
    }

    /// The rule a fresh installation has: every metric gets `low`.
    public static let `default` = try! ArchivePolicyRule(name: "default", metricPattern: "*", archivePolicyName: "low")
}

/// A shell-style glob, as Python's fnmatch reads one: `*` any run, `?` any one
/// character, `[abc]`, `[a-z]`, `[!abc]` a set; everything else literal. Case-sensitive.
struct Glob {
    private let pattern: [Character]

    init(_ pattern: String) { self.pattern = Array(pattern) }

    func matches(_ text: String) -> Bool {
        let text = Array(text)
        // Iterative matching with backtracking to the last star: linear in practice.
        var p = 0
        var t = 0
        var starP = -1
        var starT = 0
        while t < text.count {
            if p < pattern.count {
                switch pattern[p] {
                case "*":
                    starP = p
                    starT = t
                    p += 1
                    continue
                case "?":
                    p += 1
                    t += 1
                    continue
                case "[":
                    if let (matched, next) = matchSet(at: p, text[t]) {
                        if matched {
                            p = next
                            t += 1
                            continue
                        }
                    } else if text[t] == "[" {  // an unclosed "[" is literal
                        p += 1
                        t += 1
                        continue
                    }
                default:
                    if pattern[p] == text[t] {
                        p += 1
                        t += 1
                        continue
                    }
                }
            }
            guard starP >= 0 else { return false }
            p = starP + 1
            starT += 1
            t = starT
        }
        while p < pattern.count && pattern[p] == "*" { p += 1 }
        return p == pattern.count
    }

    /// Whether `character` is in the set starting at `start` ("["), and the index
    /// after the set; `nil` if the set is not closed.
    private func matchSet(at start: Int, _ character: Character) -> (Bool, Int)? {
        var index = start + 1
        var negate = false
        if index < pattern.count && pattern[index] == "!" {
            negate = true
            index += 1
        }
        var matched = false
        var first = true
        while index < pattern.count {
            let c = pattern[index]
            if c == "]" && !first { return (matched != negate, index + 1) }
            first = false
            if index + 2 < pattern.count && pattern[index + 1] == "-" && pattern[index + 2] != "]" {
                if pattern[index] <= character && character <= pattern[index + 2] { matched = true }
                index += 3
            } else {
                if c == character { matched = true }
                index += 1
            }
        }
        return nil
    }
}
