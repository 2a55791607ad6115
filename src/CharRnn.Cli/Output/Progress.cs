using System.Globalization;

namespace CharRnn.Cli.Output;

/// <summary>
/// Training progress on stderr: on a terminal one live line rewritten in place (step/total, loss, smoothed loss,
/// chars/s, ETA); when stderr is a file or pipe, one plain line per report.
/// </summary>
internal sealed class Progress(bool live)
{
    private int _lastLength;

    public bool Live { get; } = live;

    public static Progress ForStandardError() => new(!Console.IsErrorRedirected);

    public void Report(long step, long total, double loss, double smoothLoss, double charsPerSecond, TimeSpan eta)
    {
        string line = string.Create(CultureInfo.InvariantCulture,
            $"step {step}/{total}  loss {loss:F4}  smooth {smoothLoss:F4}  {Rate(charsPerSecond)} chars/s  ETA {Format(eta)}");
        if (Live)
        {
            Console.Error.Write("\r" + line.PadRight(_lastLength));
            _lastLength = line.Length;
        }
        else Console.Error.WriteLine(line);
    }

    /// <summary>A whole line (validation result, checkpoint saved …) above the live line.</summary>
    public void Line(string text)
    {
        if (Live && _lastLength > 0)
        {
            Console.Error.Write("\r" + new string(' ', _lastLength) + "\r");
            _lastLength = 0;
        }
        Console.Error.WriteLine(text);
    }

    public void Finish()
    {
        if (Live && _lastLength > 0) Console.Error.WriteLine();
        _lastLength = 0;
    }

    private static string Rate(double x) => x >= 1e6 ? (x / 1e6).ToString("F2", CultureInfo.InvariantCulture) + "M"
        : x >= 1e3 ? (x / 1e3).ToString("F1", CultureInfo.InvariantCulture) + "k" : x.ToString("F0", CultureInfo.InvariantCulture);

    private static string Format(TimeSpan t) => t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:D2}m" : t.TotalMinutes >= 1 ? $"{t.Minutes}m{t.Seconds:D2}s" : $"{t.Seconds}s";
}
