using System.Globalization;
using CharRnn.Fast.Kernels;
using CharRnn.Fast.Training;

namespace CharRnn.Cli.Output;

/// <summary>What a training run tells its user when it starts (see <see cref="TrainReport.Start"/>).</summary>
internal sealed record TrainStart(
    long Characters, long TrainCharacters, long ValidationCharacters, int Vocabulary, string Cell, int Layers, int Hidden, int SequenceLength, int Batch,
    string Optimizer, double LearningRate, int Threads, KernelPolicy Kernels, long Step, long TotalSteps, string Checkpoint, string RunId);

/// <summary>
/// Everything a training run reports, in one of two forms: plain lines on stderr (the progress line live on a terminal)
/// and the final sample on stdout; or, with <c>--json</c>, one JSON object per line on stdout, each with an
/// <c>"event"</c> (start, warning, progress, validation, checkpoint, sample, stopping, interrupted, done, error; README,
/// "JSON output"). Every plain message has its JSON record. Safe to call from a signal handler while the run reports.
/// </summary>
internal sealed class TrainReport(bool json)
{
    private readonly Output.Progress _progress = Output.Progress.ForStandardError();
    private readonly Lock _output = new();

    /// <summary>True when a live progress line on a terminal wants frequent updates.</summary>
    public bool Live => !json && _progress.Live;

    public void Start(TrainStart s)
    {
        if (json)
            Write("start", w =>
            {
                w.WriteNumber("characters", s.Characters); w.WriteNumber("train_characters", s.TrainCharacters);
                w.WriteNumber("validation_characters", s.ValidationCharacters); w.WriteNumber("vocabulary", s.Vocabulary);
                w.WriteString("cell", s.Cell); w.WriteNumber("layers", s.Layers); w.WriteNumber("hidden", s.Hidden); w.WriteNumber("seq_len", s.SequenceLength); w.WriteNumber("batch", s.Batch);
                w.WriteString("optimizer", s.Optimizer); w.WriteNumber("lr", s.LearningRate); w.WriteNumber("threads", s.Threads);
                w.WriteString("kernels", s.Kernels.Name); w.WriteString("vector_path", VectorPaths.Describe(s.Kernels.Path)); w.WriteNumber("step", s.Step); w.WriteNumber("total_steps", s.TotalSteps);
                w.WriteString("checkpoint", s.Checkpoint); w.WriteString("run_id", s.RunId);
            });
        else
            Line(Invariant($"charrnn train: {s.Characters:N0} characters ({s.TrainCharacters:N0} train, {s.ValidationCharacters:N0} validation), vocabulary {s.Vocabulary}, ") +
                 Invariant($"{s.Cell} × {s.Layers}, hidden {s.Hidden}, T {s.SequenceLength}, B {s.Batch}, {s.Optimizer} lr {s.LearningRate}, {s.Threads} thread(s), kernels {s.Kernels}") +
                 (s.Step > 0 ? Invariant($"; resuming at step {s.Step}") : ""));
    }

    /// <summary>Always on stderr (a person watching should see it); with --json also as a record.</summary>
    public void Warning(string message)
    {
        Line($"charrnn: warning: {message}");
        if (json) Write("warning", w => w.WriteString("message", message));
    }

    /// <summary>
    /// After a step: <paramref name="scheduled"/> reports (every --print-every steps and the last) are printed in both
    /// forms; a live terminal line is also refreshed in between.
    /// </summary>
    public void Progress(long step, long total, double loss, double smoothLoss, double charsPerSecond, TimeSpan eta, double learningRate, bool scheduled)
    {
        if (json && scheduled)
            Write("progress", w =>
            {
                w.WriteNumber("step", step); w.WriteNumber("total_steps", total); w.WriteNumber("loss", loss); w.WriteNumber("smooth_loss", smoothLoss);
                w.WriteNumber("chars_per_s", charsPerSecond); w.WriteNumber("eta_s", eta.TotalSeconds); w.WriteNumber("lr", learningRate);
            });
        else if (!json)
            lock (_output) _progress.Report(step, total, loss, smoothLoss, charsPerSecond, eta);
    }

    public void Validation(long step, Evaluation e, double seconds)
    {
        if (json)
            Write("validation", w =>
            {
                w.WriteNumber("step", step); w.WriteNumber("val_bits_per_char", e.BitsPerChar); w.WriteNumber("val_nats_per_char", e.NatsPerChar);
                w.WriteNumber("val_perplexity", e.Perplexity); w.WriteNumber("seconds", seconds);
            });
        else Line(Invariant($"step {step}: validation {e.BitsPerChar:F4} bits/char ({e.NatsPerChar:F4} nats, perplexity {e.Perplexity:F2}) in {Duration(seconds)}"));
    }

    /// <summary>A checkpoint was written. The plain form reports periodic saves here; the others are in the closing line.</summary>
    public void Saved(long step, string path, bool periodic)
    {
        if (json) Write("checkpoint", w => { w.WriteNumber("step", step); w.WriteString("path", path); });
        else if (periodic) Line($"step {step}: checkpoint saved to {path}");
    }

    /// <summary>A sample: periodic ones framed on stderr, the final one alone on stdout (plain form).</summary>
    public void Sample(long step, string text, bool final)
    {
        if (json) Write("sample", w => { w.WriteNumber("step", step); w.WriteBoolean("final", final); w.WriteString("text", text); });
        else if (final) lock (_output) Console.Out.WriteLine(text);
        else Line($"--- sample at step {step} ---\n{text}\n---");
    }

    /// <summary>The first Ctrl+C: what happens now.</summary>
    public void Stopping(string checkpoint)
    {
        string message = $"stopping after this step and saving to {checkpoint}; press Ctrl+C again to quit without saving";
        if (json) Write("stopping", w => { w.WriteString("message", message); w.WriteString("checkpoint", checkpoint); });
        else Line(message);
    }

    /// <summary>The second Ctrl+C: the process ends without saving; <paramref name="written"/> says what this run did save.</summary>
    public void QuitWithoutSaving(long step, long? lastWrittenStep, string written, string checkpoint)
    {
        string message = $"quitting at once without saving; {written}";
        if (json)
            Write("interrupted", w =>
            {
                w.WriteNumber("step", step); w.WriteBoolean("saved", false); w.WriteString("message", message);
                if (lastWrittenStep is { } s) { w.WriteString("checkpoint", checkpoint); w.WriteNumber("checkpoint_step", s); }
                else w.WriteNull("checkpoint");
            });
        else Line(message);
    }

    /// <summary>Stopped by the first Ctrl+C; <paramref name="checkpoint"/> is null when there was nothing to save.</summary>
    public void Interrupted(long step, string? checkpoint)
    {
        if (json)
            Write("interrupted", w =>
            {
                w.WriteNumber("step", step); w.WriteBoolean("saved", checkpoint is not null);
                if (checkpoint is null) w.WriteNull("checkpoint"); else w.WriteString("checkpoint", checkpoint);
            });
        else Line(checkpoint is null
            ? $"interrupted at step {step}, before this run trained a step: nothing to save"
            : $"interrupted at step {step}: checkpoint saved to {checkpoint} (continue with --resume {checkpoint})");
    }

    /// <summary>The end of a completed run, with its final sample (if any): "done" is the last JSON record.</summary>
    public void Done(long step, double smoothLoss, Evaluation? validation, double seconds, string checkpoint, string? finalSample)
    {
        if (json)
        {
            if (finalSample is not null) Sample(step, finalSample, final: true);
            Write("done", w =>
            {
                w.WriteNumber("step", step); w.WriteNumber("smooth_loss", smoothLoss);
                if (validation is { } v) w.WriteNumber("val_bits_per_char", v.BitsPerChar);
                w.WriteNumber("seconds", seconds); w.WriteString("checkpoint", checkpoint);
            });
        }
        else
        {
            Line(Invariant($"done: {step} steps in {seconds:F1} s, smoothed loss {smoothLoss:F4} nats/char; saved {checkpoint}"));
            if (finalSample is not null) Sample(step, finalSample, final: true);
        }
    }

    /// <summary>A failure after the start (the message also goes to stderr with the exit code): a record in the JSON form.</summary>
    public void Error(string message, long step)
    {
        if (json) Write("error", w => { w.WriteNumber("step", step); w.WriteString("message", message); });
    }

    /// <summary>Ends the live line (before an error or the closing lines).</summary>
    public void Finish()
    {
        lock (_output) _progress.Finish();
    }

    private void Line(string text)
    {
        lock (_output) _progress.Line(text);
    }

    private void Write(string name, Action<System.Text.Json.Utf8JsonWriter> fields)
    {
        lock (_output) JsonLine.Write(w => { w.WriteString("event", name); fields(w); });
    }

    private static string Duration(double seconds) => seconds < 1 ? Invariant($"{seconds * 1000:F0} ms") : Invariant($"{seconds:F1} s");

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
