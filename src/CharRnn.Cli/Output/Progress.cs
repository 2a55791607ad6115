using System.Globalization;

namespace CharRnn.Cli.Output;

/// <summary>
/// Progress on stderr: on a terminal one live line rewritten in place (training: step/total, loss, smoothed loss,
/// chars/s, ETA; tokenizing and evaluating: the fraction done); when stderr is a file or pipe, one plain line per
/// training report and nothing for the others.
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
        if (Live) Status(line);
        else Terminal.Write(toError: true, () => Console.Error.WriteLine(line));
    }

    /// <summary>
    /// How far a long task is (tokenizing, evaluating), on a terminal only: "what: 42%  12.3 MB/s  ETA 5s" rewritten in
    /// place; <paramref name="unit"/> names what <paramref name="ratePerSecond"/> counts.
    /// </summary>
    public void Fraction(string what, double fraction, double ratePerSecond, string unit, TimeSpan eta)
    {
        if (Live) Status(string.Create(CultureInfo.InvariantCulture, $"{what}: {fraction * 100:F0}%  {Rate(ratePerSecond)} {unit}  ETA {Format(eta)}"));
    }

    private void Status(string line)
    {
        Terminal.Write(toError: true, () => Console.Error.Write("\r" + line.PadRight(_lastLength)));
        _lastLength = line.Length;
    }

    /// <summary>A whole line (validation result, checkpoint saved …) above the live line.</summary>
    public void Line(string text)
    {
        Clear();
        Terminal.Write(toError: true, () => Console.Error.WriteLine(text));
    }

    /// <summary>Erases the live line, if any.</summary>
    public void Clear()
    {
        if (Live && _lastLength > 0)
        {
            int length = _lastLength;
            Terminal.Write(toError: true, () => Console.Error.Write("\r" + new string(' ', length) + "\r"));
            _lastLength = 0;
        }
    }

    public void Finish()
    {
        if (Live && _lastLength > 0) Terminal.Write(toError: true, () => Console.Error.WriteLine());
        _lastLength = 0;
    }

    private static string Rate(double x) => x >= 1e6 ? (x / 1e6).ToString("F2", CultureInfo.InvariantCulture) + "M"
        : x >= 1e3 ? (x / 1e3).ToString("F1", CultureInfo.InvariantCulture) + "k" : x.ToString("F0", CultureInfo.InvariantCulture);

    private static string Format(TimeSpan t) => t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:D2}m" : t.TotalMinutes >= 1 ? $"{t.Minutes}m{t.Seconds:D2}s" : $"{t.Seconds}s";
}
