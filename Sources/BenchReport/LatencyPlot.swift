import Foundation

/// Latency over time as an SVG line chart, one line per client, as the seed
/// tool drew them per backend. Written by hand: a few lines of SVG need no
/// plotting library, and any browser or `rsvg-convert` renders them.
public struct LatencyPlot: Sendable {
    public let title: String
    /// Per client, (seconds since start, latency in ms), in time order.
    public let series: [Int: [(Double, Double)]]
    public var width = 960.0
    public var height = 480.0

    public init(title: String, series: [Int: [(Double, Double)]]) {
        self.title = title
        self.series = series
    }

    static let palette = [
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    ]

    /// A round step for about `target` ticks over `span`.
    static func tickStep(_ span: Double, target: Double = 6) -> Double {
        guard span > 0 else { return 1 }
        let raw = span / target
        let magnitude = pow(10, log10(raw).rounded(.down))
        for factor in [1.0, 2, 2.5, 5, 10] where raw <= factor * magnitude { return factor * magnitude }
        return 10 * magnitude
    }

    public func svg() -> String {
        let left = 70.0, right = 20.0, top = 40.0, bottom = 50.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let points = series.values.flatMap { $0 }
        let maxX = Swift.max(points.map(\.0).max() ?? 1, 1e-9)
        let maxY = Swift.max(points.map(\.1).max() ?? 1, 1e-9)
        let xStep = Self.tickStep(maxX), yStep = Self.tickStep(maxY)
        let xMax = (maxX / xStep).rounded(.up) * xStep, yMax = (maxY / yStep).rounded(.up) * yStep
        func x(_ value: Double) -> Double { left + value / xMax * plotWidth }
        func y(_ value: Double) -> Double { top + plotHeight - value / yMax * plotHeight }
        func n(_ value: Double) -> String { String(format: "%.1f", value) }
        func label(_ value: Double) -> String {
            value == value.rounded() ? String(Int(value)) : String(format: "%g", value)
        }

        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(n(width))" height="\(n(height))" \
            viewBox="0 0 \(n(width)) \(n(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(n(width / 2))" y="22" text-anchor="middle" font-size="15">\(escape(title))</text>

            """
        var tick = 0.0
        while tick <= yMax + yStep / 2 {
            svg +=
                "<line x1=\"\(n(left))\" y1=\"\(n(y(tick)))\" x2=\"\(n(left + plotWidth))\" y2=\"\(n(y(tick)))\" stroke=\"#ddd\"/>"
            svg += "<text x=\"\(n(left - 6))\" y=\"\(n(y(tick) + 4))\" text-anchor=\"end\">\(label(tick))</text>\n"
            tick += yStep
        }
        tick = 0
        while tick <= xMax + xStep / 2 {
            svg +=
                "<line x1=\"\(n(x(tick)))\" y1=\"\(n(top + plotHeight))\" x2=\"\(n(x(tick)))\" y2=\"\(n(top + plotHeight + 5))\" stroke=\"#333\"/>"
            svg +=
                "<text x=\"\(n(x(tick)))\" y=\"\(n(top + plotHeight + 18))\" text-anchor=\"middle\">\(label(tick))</text>\n"
            tick += xStep
        }
        svg +=
            "<rect x=\"\(n(left))\" y=\"\(n(top))\" width=\"\(n(plotWidth))\" height=\"\(n(plotHeight))\" fill=\"none\" stroke=\"#333\"/>\n"
        svg +=
            "<text x=\"\(n(left + plotWidth / 2))\" y=\"\(n(height - 10))\" text-anchor=\"middle\">seconds since start</text>\n"
        svg +=
            "<text transform=\"translate(16 \(n(top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\">latency (ms)</text>\n"
        for (position, client) in series.keys.sorted().enumerated() {
            let color = Self.palette[position % Self.palette.count]
            let path = series[client]!.map { "\(n(x($0.0))),\(n(y($0.1)))" }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.2\" points=\"\(path)\"/>\n"
            if position < 20 {
                let legendY = top + 14 + Double(position) * 15
                svg +=
                    "<text x=\"\(n(left + plotWidth - 8))\" y=\"\(n(legendY))\" text-anchor=\"end\" fill=\"\(color)\">client \(client)</text>\n"
            }
        }
        return svg + "</svg>\n"
    }

    private func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
