import BenchReport
import Foundation
import Testing

@Suite("benchmark reports", .timeLimit(.minutes(5)))
struct BenchReportTests {
    @Test("summary statistics match Python's statistics and numpy's percentiles")
    func summary() throws {
        // Reference: statistics.mean/stdev and numpy.percentile of [1, 2, 3, 4, 10].
        let summary = try #require(LatencySummary([4, 1, 10, 3, 2]))
        #expect(summary.count == 5)
        #expect(summary.mean == 4)
        #expect(abs(summary.std - 3.5355339059327378) < 1e-12)
        #expect(summary.min == 1 && summary.max == 10)
        #expect(summary.p50 == 3)
        #expect(abs(summary.p95 - 8.8) < 1e-12)
        #expect(abs(summary.p99 - 9.76) < 1e-12)
        #expect(LatencySummary([]) == nil)
        #expect(LatencySummary([7])?.std == 0)
    }

    @Test("the plot has a line per client, the axes and the title")
    func plot() {
        let plot = LatencyPlot(
            title: "write latency <orzo>", series: [0: [(0, 1), (0.5, 3), (1.2, 2)], 1: [(0.1, 4), (1.0, 12.5)]])
        let svg = plot.svg()
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        #expect(svg.components(separatedBy: "<polyline").count == 3)
        #expect(svg.contains("write latency &lt;orzo&gt;"))
        #expect(svg.contains(">client 1</text>"))
        #expect(svg.contains("latency (ms)"))
        #expect(svg.hasSuffix("</svg>\n"))
    }

    @Test("CSV lines")
    func csv() {
        let sample = Sample(client: 3, index: 7, kind: .read, start: 1.25, latency: 0.5)
        #expect(Sample.csvHeader == "client,index,kind,start_s,latency_ms")
        #expect(sample.csvLine == "3,7,read,1.250000,0.500")
    }
}
