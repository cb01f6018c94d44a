/// The nested-parentheses syntax of Gnocchi's operations strings, before any
/// meaning is given to it: `(aggregate mean (metric (a mean) (b mean)))`.
enum SExpression: Hashable, Sendable {
    case atom(String, position: Int)
    case list([SExpression], position: Int)

    var position: Int {
        switch self {
        case .atom(_, let position), .list(_, let position): position
        }
    }

    /// Parses exactly one parenthesised expression. Atoms are runs of characters
    /// other than whitespace and parentheses, or double-quoted strings.
    ///
    /// Bounded: at most ``Limits/operationsMaxLength`` bytes and
    /// ``Limits/operationsMaxDepth`` nested parentheses, checked before recursing,
    /// so no text can exhaust the stack (here, or in the recursive validation and
    /// evaluation that follow the tree).
    static func parse(_ text: String) throws(OperationsError) -> SExpression {
        guard text.utf8.count <= Limits.operationsMaxLength else {
            throw .syntax(
                message: "Operations are at most \(Limits.operationsMaxLength) bytes, not \(text.utf8.count)",
                position: 0)
        }
        let characters = Array(text)
        var index = 0
        var depth = 0
        func skipSpace() {
            while index < characters.count && characters[index].isWhitespace { index += 1 }
        }
        func parseNode() throws(OperationsError) -> SExpression {
            skipSpace()
            guard index < characters.count else {
                throw .syntax(message: "Unexpected end of the operations", position: index)
            }
            let start = index
            switch characters[index] {
            case "(":
                guard depth < Limits.operationsMaxDepth else {
                    throw .syntax(
                        message: "Operations nest at most \(Limits.operationsMaxDepth) parentheses deep",
                        position: start)
                }
                depth += 1
                defer { depth -= 1 }
                index += 1
                var items: [SExpression] = []
                while true {
                    skipSpace()
                    guard index < characters.count else {
                        throw .syntax(message: "Unclosed parenthesis opened", position: start)
                    }
                    if characters[index] == ")" {
                        index += 1
                        return .list(items, position: start)
                    }
                    items.append(try parseNode())
                }
            case ")":
                throw .syntax(message: "Unexpected ')'", position: start)
            case "\"":
                index += 1
                var value = ""
                while index < characters.count && characters[index] != "\"" {
                    value.append(characters[index])
                    index += 1
                }
                guard index < characters.count else { throw .syntax(message: "Unclosed string", position: start) }
                index += 1
                return .atom(value, position: start)
            default:
                var value = ""
                while index < characters.count && !characters[index].isWhitespace && characters[index] != "("
                    && characters[index] != ")"
                {
                    value.append(characters[index])
                    index += 1
                }
                return .atom(value, position: start)
            }
        }
        skipSpace()
        guard index < characters.count else { throw .syntax(message: "Operation must not be empty", position: 0) }
        guard characters[index] == "(" else {
            throw .syntax(message: "Operations must start with '('", position: index)
        }
        let node = try parseNode()
        skipSpace()
        guard index == characters.count else {
            throw .syntax(message: "Unexpected text after the operations", position: index)
        }
        return node
    }
}
