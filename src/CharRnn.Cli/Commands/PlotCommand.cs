using System.Globalization;
using System.Text;
using System.Text.Json;
using CharRnn.Cli.Arguments;
using CharRnn.Cli.Output;
using CharRnn.Fast.IO;

namespace CharRnn.Cli.Commands;

/// <summary><c>charrnn plot LOG -o loss.svg</c>: the training and validation curves of a <c>train --log</c> file, as an SVG.</summary>
internal static class PlotCommand
{
    public static readonly Option[] Options =
    [
        new("output", "FILE", "the SVG to write (default: LOG with the extension .svg)") { Short = 'o' },
        new("title", "TEXT", "the plot's title (default: the log's file name)"),
        new("json", null, "print {\"event\":\"plot\",\"output\":…,\"train_points\":…,\"validation_points\":…,\"test_points\":…}"),
    ];

    public static string HelpText => Help.For("charrnn plot LOG [-o loss.svg] [--title TEXT] [--json]",
        "Draws the curves of a training log (charrnn train --log LOG) into an SVG file a browser shows: training loss (the\n" +
        "loss of the step at each progress record, every --print-every steps) and validation loss, both in bits per\n" +
        "character against the step, and the test result as one point if the run had a test range. A log that holds\n" +
        "several runs is drawn as its last run: records after the last start at step 0, a resumed run replacing what the\n" +
        "earlier one logged past the step it resumed from; a dashed line marks each step a run was resumed at. Lines that\n" +
        "are not JSON records (a line cut short by a crash) are skipped.", Options);

    public static int Run(ParsedArguments a)
    {
        if (a.Positional.Count != 1) throw new UsageException("give the log file to plot: charrnn plot LOG [-o loss.svg]");
        string logPath = a.Positional[0];
        string output = a.String("output") ?? Path.ChangeExtension(logPath, ".svg");
        if (Path.GetFullPath(output) == Path.GetFullPath(logPath)) throw new UsageException("the output would replace the log: give -o FILE.svg");
        ReplaceCheck.OnlySvg(output, "-o");
        var curves = TrainingCurves.Read(logPath);
        if (curves.Train.Count + curves.Validation.Count == 0)
            throw new CommandError($"'{logPath}' has no progress or validation records: write one with charrnn train --log {logPath}");
        string svg = LossPlot.Svg(a.String("title") ?? $"charrnn training: {Path.GetFileName(logPath)}", "step", "bits per character",
        [
            new PlotSeries("train", "training (loss of the step)", "#1f77b4", curves.Train),
            new PlotSeries("validation", "validation", "#d62728", curves.Validation, Markers: curves.Validation.Count <= 60),
            new PlotSeries("test", "test (each run's end)", "#2ca02c", curves.Test, Joined: false),
        ], curves.Resumes.Select(step => new PlotMark("resume", step, string.Create(CultureInfo.InvariantCulture, $"resumed at {step:N0}"))).ToArray());
        try { File.WriteAllText(output, svg, new UTF8Encoding(false)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new CommandError($"cannot write '{output}': {FileErrors.Reason(e, output)}"); }
        if (curves.Skipped > 0) Console.Error.WriteLine($"charrnn: warning: skipped {curves.Skipped} line(s) of '{logPath}' that are not JSON records");
        if (a.Has("json"))
            JsonLine.Write(w =>
            {
                w.WriteString("event", "plot"); w.WriteString("output", output); w.WriteNumber("train_points", curves.Train.Count);
                w.WriteNumber("validation_points", curves.Validation.Count); w.WriteNumber("test_points", curves.Test.Count);
            });
        else Console.Out.WriteLine($"wrote {output}: {curves.Train.Count} training and {curves.Validation.Count} validation points");
        return 0;
    }
}

/// <summary>The curves of the last run in a training log, in bits per character by step, and the steps it was resumed at.</summary>
internal sealed record TrainingCurves(List<(double X, double Y)> Train, List<(double X, double Y)> Validation, List<(double X, double Y)> Test, List<long> Resumes, int Skipped)
{
    public static TrainingCurves Read(string path)
    {
        var curves = new TrainingCurves([], [], [], [], 0);
        int skipped = 0;
        try
        {
            foreach (string line in File.ReadLines(path))
            {
                if (line.Length == 0) continue;
                try
                {
                    using var record = JsonDocument.Parse(line);
                    if (!curves.Add(record.RootElement)) skipped++;
                }
                catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or KeyNotFoundException) { skipped++; }
            }
        }
        catch (FileNotFoundException) { throw new CommandError($"log file '{path}' does not exist"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new CommandError($"cannot read '{path}': {FileErrors.Reason(e, path)}"); }
        return curves with { Skipped = skipped };
    }

    // One record; false when it is not an object with an event.
    private bool Add(JsonElement record)
    {
        if (record.ValueKind != JsonValueKind.Object || !record.TryGetProperty("event", out var name) || name.ValueKind != JsonValueKind.String) return false;
        switch (name.GetString())
        {
            case "start":
                long from = record.GetProperty("step").GetInt64(); // a new run (0), or a resume: what was logged past its step is gone
                foreach (var list in new[] { Train, Validation, Test }) list.RemoveAll(p => from == 0 || p.X > from);
                Resumes.RemoveAll(step => from == 0 || step >= from);
                if (from > 0) Resumes.Add(from);
                break;
            case "progress": Add(Train, record, "loss", 1 / Math.Log(2)); break;
            case "validation": Add(Validation, record, "val_bits_per_char"); break;
            case "test": Add(Test, record, "test_bits_per_char"); break;
        }
        return true;
    }

    // a measure that was not finite (a diverged run's) is null in the log: a record, with no point to draw
    private static void Add(List<(double X, double Y)> points, JsonElement record, string measure, double scale = 1)
    {
        var value = record.GetProperty(measure);
        if (value.ValueKind != JsonValueKind.Null) points.Add((record.GetProperty("step").GetInt64(), value.GetDouble() * scale));
    }
}
