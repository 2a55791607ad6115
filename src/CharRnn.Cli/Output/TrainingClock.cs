using System.Diagnostics;

namespace CharRnn.Cli.Output;

/// <summary>
/// Throughput and time left for training reports. Chars/s counts only the time spent in training steps (validation,
/// checkpoints and samples excluded). The ETA is the steps left at that rate plus the validation passes still to come,
/// each priced at the mean measured duration of the passes so far, or before the first at an estimate.
/// </summary>
internal sealed class TrainingClock(long charsPerStep)
{
    private long _windowSteps, _windowTicks;
    private double _rate, _validationSeconds;
    private int _validations;

    /// <summary>Seconds one validation pass is expected to take until one has been measured.</summary>
    public double ValidationEstimate { get; set; }

    /// <summary>Adds one training step that took <paramref name="ticks"/> (<see cref="Stopwatch"/> ticks).</summary>
    public void StepTook(long ticks)
    {
        _windowSteps++;
        _windowTicks += ticks;
    }

    /// <summary>Training chars/s over the steps since the last call (the previous figure if there were none).</summary>
    public double TakeRate()
    {
        if (_windowTicks > 0) _rate = _windowSteps * charsPerStep / ((double)_windowTicks / Stopwatch.Frequency);
        _windowSteps = _windowTicks = 0;
        return _rate;
    }

    public void ValidationTook(double seconds)
    {
        _validationSeconds += seconds;
        _validations++;
    }

    /// <summary>Time left for <paramref name="stepsLeft"/> steps (at the last <see cref="TakeRate"/>) and <paramref name="validationsLeft"/> validation passes.</summary>
    public TimeSpan Eta(long stepsLeft, long validationsLeft)
    {
        double training = _rate > 0 ? stepsLeft * charsPerStep / _rate : 0;
        double perPass = _validations > 0 ? _validationSeconds / _validations : ValidationEstimate;
        return TimeSpan.FromSeconds(training + validationsLeft * perPass);
    }
}
