using System.Globalization;
using System.Text;
using System.Xml;

namespace CharRnn.Cli.Output;

/// <summary>
/// One curve of a <see cref="LossPlot"/>: its element id, legend label, colour, points, whether each point gets a marker,
/// and whether the points are joined (false: separate measurements, markers only).
/// </summary>
internal sealed record PlotSeries(string Id, string Label, string Color, IReadOnlyList<(double X, double Y)> Points, bool Markers = false, bool Joined = true)
{
    /// <summary>Whether points are drawn as dots: asked for, or the only way to see them.</summary>
    public bool Dotted => Markers || !Joined;
}

/// <summary>An event at one x (a resumed run): a dashed vertical line of class <c>Kind</c>, labelled along it (class <c>Kind-label</c>).</summary>
internal sealed record PlotMark(string Kind, double X, string Label);

/// <summary>
/// Curves over a shared x axis as a standalone SVG document, written directly: a white page, a title, both axes with
/// "nice" ticks (1, 2 or 5 × 10^k) and grid lines, axis labels, marks (dashed vertical lines), the curves clipped to the
/// plot area, and a legend. Each curve is one <c>&lt;polyline id="…"&gt;</c>, so tools (and tests) can find it.
/// </summary>
internal static class LossPlot
{
    private const double Width = 900, Height = 560, Left = 78, Right = 24, Top = 46, Bottom = 64;

    public static string Svg(string title, string xLabel, string yLabel, IReadOnlyList<PlotSeries> series, IReadOnlyList<PlotMark>? marks = null)
    {
        marks ??= [];
        var all = series.SelectMany(s => s.Points).ToArray();
        if (all.Length == 0) throw new ArgumentException("nothing to plot", nameof(series));
        var xs = all.Select(p => p.X).Concat(marks.Select(m => m.X)).ToArray();
        var (x0, x1, xStep) = Axis(xs.Min(), xs.Max(), 8, fromZero: true);
        var (y0, y1, yStep) = Axis(all.Min(p => p.Y), all.Max(p => p.Y), 7, fromZero: false);
        double plotWidth = Width - Left - Right, plotHeight = Height - Top - Bottom;
        double X(double x) => Left + (x - x0) / (x1 - x0) * plotWidth;
        double Y(double y) => Top + plotHeight - (y - y0) / (y1 - y0) * plotHeight;

        var text = new StringBuilder();
        using (var w = XmlWriter.Create(text, new XmlWriterSettings { Indent = true, OmitXmlDeclaration = true }))
        {
            w.WriteStartElement("svg", "http://www.w3.org/2000/svg");
            Attributes(w, ("width", N(Width)), ("height", N(Height)), ("viewBox", $"0 0 {N(Width)} {N(Height)}"), ("font-family", "DejaVu Sans, Helvetica, Arial, sans-serif"), ("font-size", "13"));
            w.WriteElementString("title", title);
            Element(w, "rect", ("width", N(Width)), ("height", N(Height)), ("fill", "white"));
            w.WriteStartElement("defs");
            w.WriteStartElement("clipPath");
            w.WriteAttributeString("id", "plot-area");
            Element(w, "rect", ("x", N(Left)), ("y", N(Top)), ("width", N(plotWidth)), ("height", N(plotHeight)));
            w.WriteEndElement();
            w.WriteEndElement();
            Text(w, "title", title, Width / 2, 26, ("text-anchor", "middle"), ("font-size", "16"), ("font-weight", "bold"));

            // grid and ticks: x
            w.WriteStartElement("g");
            w.WriteAttributeString("id", "x-axis");
            for (double x = x0; x <= x1 + xStep / 2; x += xStep)
            {
                Element(w, "line", ("x1", N(X(x))), ("y1", N(Top)), ("x2", N(X(x))), ("y2", N(Top + plotHeight)), ("stroke", "#e3e3e3"));
                Element(w, "line", ("x1", N(X(x))), ("y1", N(Top + plotHeight)), ("x2", N(X(x))), ("y2", N(Top + plotHeight + 6)), ("stroke", "#333"));
                Text(w, "tick", TickLabel(x, xStep), X(x), Top + plotHeight + 22, ("text-anchor", "middle"));
            }
            Text(w, "x-label", xLabel, Left + plotWidth / 2, Height - 16, ("text-anchor", "middle"), ("font-size", "14"));
            w.WriteEndElement();

            // grid and ticks: y
            w.WriteStartElement("g");
            w.WriteAttributeString("id", "y-axis");
            for (double y = y0; y <= y1 + yStep / 2; y += yStep)
            {
                Element(w, "line", ("x1", N(Left)), ("y1", N(Y(y))), ("x2", N(Left + plotWidth)), ("y2", N(Y(y))), ("stroke", "#e3e3e3"));
                Element(w, "line", ("x1", N(Left - 6)), ("y1", N(Y(y))), ("x2", N(Left)), ("y2", N(Y(y))), ("stroke", "#333"));
                Text(w, "tick", TickLabel(y, yStep), Left - 10, Y(y) + 4, ("text-anchor", "end"));
            }
            Text(w, "y-label", yLabel, 0, 0, ("text-anchor", "middle"), ("font-size", "14"), ("transform", $"translate(22 {N(Top + plotHeight / 2)}) rotate(-90)"));
            w.WriteEndElement();
            Element(w, "rect", ("x", N(Left)), ("y", N(Top)), ("width", N(plotWidth)), ("height", N(plotHeight)), ("fill", "none"), ("stroke", "#333"));

            // marks under the curves, each labelled along its line down from the top of the plot (where a falling loss
            // curve has left room), on a white halo
            if (marks.Count > 0)
            {
                w.WriteStartElement("g");
                w.WriteAttributeString("id", "marks");
                foreach (var m in marks)
                {
                    Element(w, "line", ("class", m.Kind), ("x1", N(X(m.X))), ("y1", N(Top)), ("x2", N(X(m.X))), ("y2", N(Top + plotHeight)),
                        ("stroke", "#777"), ("stroke-width", "1.2"), ("stroke-dasharray", "6 4"));
                    Text(w, m.Kind + "-label", m.Label, 0, 0, ("fill", "#555"), ("font-size", "12"), ("text-anchor", "end"),
                        ("stroke", "white"), ("stroke-width", "3"), ("paint-order", "stroke"),
                        ("transform", $"translate({N(X(m.X) - 5)} {N(Top + 8)}) rotate(-90)"));
                }
                w.WriteEndElement();
            }

            // the curves, clipped to the plot area
            foreach (var s in series.Where(s => s.Points.Count > 0))
            {
                if (s.Joined)
                    Element(w, "polyline", ("id", s.Id), ("clip-path", "url(#plot-area)"), ("fill", "none"), ("stroke", s.Color), ("stroke-width", "1.6"), ("stroke-linejoin", "round"),
                        ("points", string.Join(' ', s.Points.Select(p => $"{N(X(p.X))},{N(Y(p.Y))}"))));
                if (!s.Dotted) continue;
                w.WriteStartElement("g");
                Attributes(w, ("id", s.Id + "-markers"), ("fill", s.Color));
                foreach (var p in s.Points) Element(w, "circle", ("cx", N(X(p.X))), ("cy", N(Y(p.Y))), ("r", s.Joined ? "3" : "4"));
                w.WriteEndElement();
            }

            // legend, top right inside the plot
            var shown = series.Where(s => s.Points.Count > 0).ToArray();
            double legendWidth = 24 + shown.Max(s => s.Label.Length) * 7.2 + 16, legendX = Left + plotWidth - legendWidth - 10, legendY = Top + 10;
            w.WriteStartElement("g");
            w.WriteAttributeString("id", "legend");
            Element(w, "rect", ("x", N(legendX)), ("y", N(legendY)), ("width", N(legendWidth)), ("height", N(10 + 20 * shown.Length)), ("fill", "white"), ("fill-opacity", "0.9"), ("stroke", "#bbb"));
            for (int i = 0; i < shown.Length; i++)
            {
                double y = legendY + 18 + 20 * i;
                if (shown[i].Joined)
                    Element(w, "line", ("x1", N(legendX + 8)), ("y1", N(y - 4)), ("x2", N(legendX + 28)), ("y2", N(y - 4)), ("stroke", shown[i].Color), ("stroke-width", "2.5"));
                if (shown[i].Dotted) Element(w, "circle", ("cx", N(legendX + 18)), ("cy", N(y - 4)), ("r", shown[i].Joined ? "3" : "4"), ("fill", shown[i].Color));
                Text(w, "legend-label", shown[i].Label, legendX + 34, y);
            }
            w.WriteEndElement();
            w.WriteEndElement();
        }
        return text.ToString();
    }

    /// <summary>An axis over [min, max] with about <paramref name="ticks"/> ticks at a nice step, its ends on ticks.</summary>
    internal static (double From, double To, double Step) Axis(double min, double max, int ticks, bool fromZero)
    {
        if (fromZero && min > 0) min = 0;
        if (max - min < 1e-12) (min, max) = (min - 0.5 * Math.Max(1e-9, Math.Abs(min) * 0.1 + 0.5), max + 0.5 * Math.Max(1e-9, Math.Abs(max) * 0.1 + 0.5));
        double raw = (max - min) / ticks, magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw))), fraction = raw / magnitude;
        double step = magnitude * (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10);
        return (Math.Floor(min / step + 1e-9) * step, Math.Ceiling(max / step - 1e-9) * step, step);
    }

    private static string TickLabel(double value, double step)
    {
        if (Math.Abs(value) < step * 1e-6) value = 0;
        int decimals = Math.Max(0, (int)-Math.Floor(Math.Log10(step) + 1e-9));
        return value.ToString(decimals == 0 ? "#,0" : "F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }

    private static void Text(XmlWriter w, string kind, string content, double x, double y, params (string Name, string Value)[] attributes)
    {
        w.WriteStartElement("text");
        Attributes(w, [("class", kind), ("x", N(x)), ("y", N(y)), .. attributes]);
        w.WriteString(content);
        w.WriteEndElement();
    }

    private static void Element(XmlWriter w, string name, params (string Name, string Value)[] attributes)
    {
        w.WriteStartElement(name);
        Attributes(w, attributes);
        w.WriteEndElement();
    }

    private static void Attributes(XmlWriter w, params (string Name, string Value)[] attributes)
    {
        foreach (var (name, value) in attributes) w.WriteAttributeString(name, value);
    }

    private static string N(double x) => x.ToString("0.#", CultureInfo.InvariantCulture);
}
