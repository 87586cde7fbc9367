import Foundation

/// Small server-rendered SVG charts of a usage series (no chart library, no JavaScript): calls per period stacked
/// by status class, and p50/p95 latency. Every text in them is a number or a date, written by this code.
enum UsageCharts {
    static let width = 640.0
    static let height = 160.0
    static let margin = (left: 44.0, right: 8.0, top: 8.0, bottom: 22.0)
    static let classColors = [("2xx", "#2e7d32"), ("3xx", "#1565c0"), ("4xx", "#ef6c00"), ("5xx", "#c62828")]

    /// The `usage` partial's values: both charts of `series` and a one-line summary.
    static func values(_ series: UsageSeries, subject: String) -> [String: Any] {
        let total = series.points.reduce(Int64(0)) { $0 + $1.requests.total }
        let limited = series.points.reduce(Int64(0)) { $0 + $1.rateLimited }
        return [
            "requests": requests(series, title: "Calls per day by status class, \(subject)"),
            "latency": latency(series, title: "Median and 95th percentile latency per day, \(subject)"),
            "summary": "\(total) calls in the last \(series.points.count) days, \(limited) of them refused by a rate limit or quota",
        ]
    }

    static var plotWidth: Double { width - margin.left - margin.right }
    static var plotHeight: Double { height - margin.top - margin.bottom }

    /// Calls per period, one bar per period stacked 2xx, 3xx, 4xx, 5xx from the bottom.
    static func requests(_ series: UsageSeries, title: String) -> String {
        let points = series.points
        let peak = max(1, points.map(\.requests.total).max() ?? 1)
        let slot = plotWidth / Double(max(1, points.count))
        var bars = ""
        for (index, point) in points.enumerated() {
            let x = margin.left + Double(index) * slot + slot * 0.1
            var top = margin.top + plotHeight
            let counts = [point.requests.status2xx, point.requests.status3xx, point.requests.status4xx, point.requests.status5xx]
            for (count, (_, color)) in zip(counts, classColors) where count > 0 {
                let barHeight = plotHeight * Double(count) / Double(peak)
                top -= barHeight
                bars += ##"<rect x="\##(f(x))" y="\##(f(top))" width="\##(f(slot * 0.8))" height="\##(f(barHeight))" fill="\##(color)"/>"##
            }
            let label = counts.map(String.init).joined(separator: "/")
            bars +=
                ##"<rect x="\##(f(x))" y="\##(f(margin.top))" width="\##(f(slot * 0.8))" height="\##(f(plotHeight))" fill="transparent">"##
                + "<title>\(day(point.start)): \(point.requests.total) calls (2xx/3xx/4xx/5xx \(label)), \(point.rateLimited) rate-limited</title></rect>"
        }
        let legend = classColors.enumerated().map { index, entry in
            let x = margin.left + Double(index) * 60
            return ##"<rect x="\##(f(x))" y="\##(f(height - 10))" width="8" height="8" fill="\##(entry.1)"/>"##
                + ##"<text x="\##(f(x + 11))" y="\##(f(height - 2))">\##(entry.0)</text>"##
        }.joined()
        return svg(title: title, body: axes(peak: "\(peak)", series: series) + bars + legend)
    }

    /// Median and 95th percentile latency per period, in milliseconds; periods without calls leave gaps.
    static func latency(_ series: UsageSeries, title: String) -> String {
        let points = series.points
        let peak = max(1, points.compactMap(\.latency.p95).max() ?? 1)
        let slot = plotWidth / Double(max(1, points.count))
        func line(_ values: [Double?], color: String, dashed: Bool) -> String {
            var paths: [[String]] = [[]]
            for (index, value) in values.enumerated() {
                guard let value else {
                    if paths.last?.isEmpty == false { paths.append([]) }
                    continue
                }
                let x = margin.left + (Double(index) + 0.5) * slot
                let y = margin.top + plotHeight * (1 - value / peak)
                paths[paths.count - 1].append("\(f(x)),\(f(y))")
            }
            return paths.filter { !$0.isEmpty }.map { path in
                let dots =
                    path.count == 1
                    ? ##"<circle cx="\##(path[0].split(separator: ",")[0])" cy="\##(path[0].split(separator: ",")[1])" r="2" fill="\##(color)"/>"##
                    : ""
                let dash = dashed ? ##" stroke-dasharray="4 3""## : ""
                return ##"<polyline points="\##(path.joined(separator: " "))" fill="none" stroke="\##(color)" stroke-width="2"\##(dash)/>"## + dots
            }.joined()
        }
        let legend =
            ##"<text x="\##(f(margin.left))" y="\##(f(height - 2))" fill="#1565c0">— p50</text>"##
            + ##"<text x="\##(f(margin.left + 60))" y="\##(f(height - 2))" fill="#c62828">- - p95</text>"##
        let body =
            axes(peak: "\(format(peak)) ms", series: series) + line(points.map(\.latency.p50), color: "#1565c0", dashed: false)
            + line(points.map(\.latency.p95), color: "#c62828", dashed: true) + legend
        return svg(title: title, body: body)
    }

    private static func axes(peak: String, series: UsageSeries) -> String {
        let bottom = margin.top + plotHeight
        var text =
            ##"<line x1="\##(f(margin.left))" y1="\##(f(bottom))" x2="\##(f(width - margin.right))" y2="\##(f(bottom))" stroke="#888"/>"##
            + ##"<line x1="\##(f(margin.left))" y1="\##(f(margin.top))" x2="\##(f(margin.left))" y2="\##(f(bottom))" stroke="#888"/>"##
            + ##"<text x="\##(f(margin.left - 4))" y="\##(f(margin.top + 8))" text-anchor="end">\##(peak)</text>"##
            + ##"<text x="\##(f(margin.left - 4))" y="\##(f(bottom))" text-anchor="end">0</text>"##
        if let first = series.points.first, let last = series.points.last {
            text += ##"<text x="\##(f(margin.left))" y="\##(f(bottom + 12))">\##(day(first.start))</text>"##
            text += ##"<text x="\##(f(width - margin.right))" y="\##(f(bottom + 12))" text-anchor="end">\##(day(last.start))</text>"##
        }
        return text
    }

    private static func svg(title: String, body: String) -> String {
        ##"<svg class="chart" role="img" viewBox="0 0 \##(f(width)) \##(f(height))" width="\##(f(width))" height="\##(f(height))" xmlns="http://www.w3.org/2000/svg" font-size="10" font-family="sans-serif">"##
            + "<title>\(escaped(title))</title>" + body + "</svg>"
    }

    static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }

    private static func f(_ value: Double) -> String { String(format: "%.1f", value) }
    private static func format(_ millis: Double) -> String { millis >= 10 ? String(Int(millis.rounded())) : String(format: "%.1f", millis) }

    private static func day(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "MM-dd"
        return formatter.string(from: date)
    }
}
