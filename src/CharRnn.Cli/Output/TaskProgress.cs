using System.Diagnostics;

namespace CharRnn.Cli.Output;

/// <summary>
/// The live line of one long task on a terminal (<see cref="Progress.Fraction"/>): the rate in <c>unit</c> (of
/// <c>total</c> units for the whole task) and the time left, both from the time since it started, at most five updates
/// a second; nothing when stderr is not a terminal.
/// </summary>
internal sealed class TaskProgress(Progress progress, string what, double total, string unit)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private double _shown = double.NegativeInfinity;

    /// <summary>For a task described on stderr while it runs (not with --json).</summary>
    public static TaskProgress? OnTerminal(bool json, string what, double total, string unit)
    {
        var progress = Progress.ForStandardError();
        return json || !progress.Live ? null : new TaskProgress(progress, what, total, unit);
    }

    /// <summary>The task is <paramref name="fraction"/> (0..1) done.</summary>
    public void Report(double fraction)
    {
        double seconds = _clock.Elapsed.TotalSeconds;
        if (seconds - _shown < 0.2 || fraction <= 0) return;
        _shown = seconds;
        progress.Fraction(what, fraction, fraction * total / seconds, unit, TimeSpan.FromSeconds(seconds * (1 - fraction) / fraction));
    }

    /// <summary>Clears the line.</summary>
    public void Finish() => progress.Clear();
}
