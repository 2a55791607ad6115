using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using CharRnn.Fast.Kernels;
using CharRnn.Fast.Training;

namespace CharRnn.Cli.Output;

/// <summary>What a training run tells its user when it starts (see <see cref="TrainReport.Start"/>).</summary>
internal sealed record TrainStart(
    long Characters, long TrainCharacters, long ValidationCharacters, long TestCharacters, long ValidationPredictions, int Vocabulary,
    string Cell, int Layers, int Hidden, int SequenceLength, int Batch, string Optimizer, double LearningRate, int Threads, KernelPolicy Kernels,
    long Step, long TotalSteps, string Checkpoint, string RunId, string? Store);

/// <summary>
/// Everything a training run reports, in one of two forms: plain lines on stderr (the progress line live on a terminal)
/// and the final sample on stdout; or, with <c>--json</c>, one JSON object per line on stdout, each with an
/// <c>"event"</c> (start, warning, progress, validation, test, checkpoint, sample, early_stop, stopping, interrupted,
/// done, error; README, "JSON output"). Every plain message has its JSON record. With <c>--log</c> the same records are
/// also appended to the log file, whichever form stdout has. Safe to call from a signal handler while the run reports.
/// </summary>
internal sealed class TrainReport(bool json, RunLog? log = null)
{
    private readonly Output.Progress _progress = Output.Progress.ForStandardError();
    private readonly Lock _output = new();
    private readonly Stopwatch _elapsed = Stopwatch.StartNew();

    /// <summary>True when a live progress line on a terminal wants frequent updates.</summary>
    public bool Live => !json && _progress.Live;

    /// <summary>The live line of a long task before step 1 (tokenizing), or null when nothing is shown.</summary>
    public TaskProgress? Task(string what, double total, string unit) => Live ? new TaskProgress(_progress, what, total, unit) : null;

    public void Start(TrainStart s)
    {
        Record("start", w =>
        {
            w.WriteString("time", DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
            w.WriteNumber("characters", s.Characters); w.WriteNumber("train_characters", s.TrainCharacters);
            w.WriteNumber("validation_characters", s.ValidationCharacters); w.WriteNumber("test_characters", s.TestCharacters);
            w.WriteNumber("validation_predictions", s.ValidationPredictions); w.WriteNumber("vocabulary", s.Vocabulary);
            w.WriteString("cell", s.Cell); w.WriteNumber("layers", s.Layers); w.WriteNumber("hidden", s.Hidden); w.WriteNumber("seq_len", s.SequenceLength); w.WriteNumber("batch", s.Batch);
            w.WriteString("optimizer", s.Optimizer); w.WriteNumber("lr", s.LearningRate); w.WriteNumber("threads", s.Threads);
            w.WriteString("kernels", s.Kernels.Name); w.WriteString("vector_path", VectorPaths.Describe(s.Kernels.Path)); w.WriteNumber("step", s.Step); w.WriteNumber("total_steps", s.TotalSteps);
            w.WriteString("checkpoint", s.Checkpoint); w.WriteString("run_id", s.RunId);
            if (s.Store is null) w.WriteNull("store"); else w.WriteString("store", s.Store);
        });
        if (!json)
            Line(Invariant($"charrnn train: {s.Characters:N0} characters ({s.TrainCharacters:N0} train, {s.ValidationCharacters:N0} validation") +
                 (s.TestCharacters > 0 ? Invariant($", {s.TestCharacters:N0} test") : "") + Invariant($"), vocabulary {s.Vocabulary}, ") +
                 Invariant($"{s.Cell} × {s.Layers}, hidden {s.Hidden}, T {s.SequenceLength}, B {s.Batch}, {s.Optimizer} lr {s.LearningRate}, {s.Threads} thread(s), kernels {s.Kernels}") +
                 (s.Step > 0 ? Invariant($"; resuming at step {s.Step}") : ""));
    }

    /// <summary>Always on stderr (a person watching should see it); with --json also as a record.</summary>
    public void Warning(string message)
    {
        Line($"charrnn: warning: {message}");
        Record("warning", w => w.WriteString("message", message));
    }

    /// <summary>
    /// After a step: <paramref name="scheduled"/> reports (every --print-every steps and the last) are printed in both
    /// forms; a live terminal line is also refreshed in between.
    /// </summary>
    public void Progress(long step, long total, double loss, double smoothLoss, double charsPerSecond, TimeSpan eta, double learningRate, bool scheduled)
    {
        if (scheduled)
            Record("progress", w =>
            {
                w.WriteNumber("step", step); w.WriteNumber("total_steps", total); w.WriteNumber("loss", loss); w.WriteNumber("smooth_loss", smoothLoss);
                w.WriteNumber("chars_per_s", charsPerSecond); w.WriteNumber("eta_s", eta.TotalSeconds); w.WriteNumber("lr", learningRate); Elapsed(w);
            });
        if (!json && (scheduled || _progress.Live))
            lock (_output) _progress.Report(step, total, loss, smoothLoss, charsPerSecond, eta);
    }

    /// <summary>A validation pass; <paramref name="best"/>: the lowest loss of the run so far (only with --keep-best or --patience).</summary>
    public void Validation(long step, Evaluation e, double seconds, bool? best)
    {
        Record("validation", w =>
        {
            w.WriteNumber("step", step); w.WriteMeasure("val_bits_per_char", e.BitsPerChar); w.WriteMeasure("val_nats_per_char", e.NatsPerChar);
            w.WriteMeasure("val_perplexity", e.Perplexity); w.WriteNumber("predictions", e.Predictions); w.WriteNumber("seconds", seconds);
            if (best is { } b) w.WriteBoolean("best", b);
            Elapsed(w);
        });
        if (!json)
            Line(Invariant($"step {step}: validation {e.BitsPerChar:F4} bits/char ({e.NatsPerChar:F4} nats, perplexity {JsonMeasures.Perplexity(e.Perplexity)}) in {Duration(seconds)}") +
                 (best == true ? " (best so far)" : ""));
    }

    /// <summary>The test range, evaluated once at the end.</summary>
    public void Test(long step, Evaluation e, double seconds)
    {
        Record("test", w =>
        {
            w.WriteNumber("step", step); w.WriteMeasure("test_bits_per_char", e.BitsPerChar); w.WriteMeasure("test_nats_per_char", e.NatsPerChar);
            w.WriteMeasure("test_perplexity", e.Perplexity); w.WriteNumber("predictions", e.Predictions); w.WriteNumber("seconds", seconds); Elapsed(w);
        });
        if (!json)
            Line(Invariant($"step {step}: test {e.BitsPerChar:F4} bits/char ({e.NatsPerChar:F4} nats, perplexity {JsonMeasures.Perplexity(e.Perplexity)}) over {e.Predictions:N0} predictions in {Duration(seconds)}"));
    }

    /// <summary>
    /// A checkpoint was written. The plain form reports periodic and best saves here; the others are in the closing
    /// line. <paramref name="best"/>: the --keep-best file.
    /// </summary>
    public void Saved(long step, string path, bool periodic, bool best = false)
    {
        Record("checkpoint", w => { w.WriteNumber("step", step); w.WriteString("path", path); w.WriteBoolean("best", best); Elapsed(w); });
        if (!json && best) Line($"step {step}: best validation so far, saved to {path}");
        else if (!json && periodic) Line($"step {step}: checkpoint saved to {path}");
    }

    /// <summary>A sample: periodic ones framed on stderr, the final one alone on stdout (plain form).</summary>
    public void Sample(long step, string text, bool final)
    {
        Record("sample", w => { w.WriteNumber("step", step); w.WriteBoolean("final", final); w.WriteString("text", text); Elapsed(w); });
        if (json) return;
        if (final) lock (_output) Terminal.Write(toError: false, () => Console.Out.WriteLine(text));
        else Line($"--- sample at step {step} ---\n{text}\n---");
    }

    /// <summary>--patience ran out: training ends here, the closing steps (test, save, sample) follow.</summary>
    /// <param name="since">validation passes since the best, at least <paramref name="patience"/> (more in a run resumed past an early stop)</param>
    public void EarlyStop(long step, int patience, long since, long bestStep, Evaluation best)
    {
        Record("early_stop", w =>
        {
            w.WriteNumber("step", step); w.WriteNumber("patience", patience); w.WriteNumber("passes_since_best", since); w.WriteNumber("best_step", bestStep);
            w.WriteNumber("best_val_bits_per_char", best.BitsPerChar); Elapsed(w);
        });
        if (!json) Line(Invariant($"step {step}: stopping early, no better validation in {since} pass(es); the best was {best.BitsPerChar:F4} bits/char at step {bestStep}"));
    }

    /// <summary>The first Ctrl+C: what happens now.</summary>
    public void Stopping(string checkpoint)
    {
        string message = $"stopping after this step and saving to {checkpoint}; press Ctrl+C again to quit without saving";
        Record("stopping", w => { w.WriteString("message", message); w.WriteString("checkpoint", checkpoint); });
        if (!json) Line(message);
    }

    /// <summary>
    /// The second Ctrl+C: the process ends without saving; <paramref name="written"/> says what this run did save. This is
    /// the report's last word: the output is never released after it, so nothing the run's thread reports while the
    /// process ends comes after it.
    /// </summary>
    public void QuitWithoutSaving(long step, long? lastWrittenStep, string written, string checkpoint)
    {
        _output.Enter();
        string message = $"quitting at once without saving; {written}";
        Record("interrupted", w =>
        {
            w.WriteNumber("step", step); w.WriteBoolean("saved", false); w.WriteString("message", message);
            if (lastWrittenStep is { } s) { w.WriteString("checkpoint", checkpoint); w.WriteNumber("checkpoint_step", s); }
            else w.WriteNull("checkpoint");
        });
        if (!json) Line(message);
    }

    /// <summary>Stopped by the first Ctrl+C; <paramref name="checkpoint"/> is null when there was nothing to save.</summary>
    public void Interrupted(long step, string? checkpoint)
    {
        Record("interrupted", w =>
        {
            w.WriteNumber("step", step); w.WriteBoolean("saved", checkpoint is not null);
            if (checkpoint is null) w.WriteNull("checkpoint"); else w.WriteString("checkpoint", checkpoint);
        });
        if (!json)
            Line(checkpoint is null
                ? $"interrupted at step {step}, before this run trained a step: nothing to save"
                : $"interrupted at step {step}: checkpoint saved to {checkpoint} (continue with --resume {checkpoint})");
    }

    /// <summary>The end of a completed run, with its final sample (if any): "done" is the last JSON record.</summary>
    public void Done(long step, double smoothLoss, Evaluation? validation, Evaluation? test, double seconds, string checkpoint, string? finalSample)
    {
        if (finalSample is not null) Record("sample", w => { w.WriteNumber("step", step); w.WriteBoolean("final", true); w.WriteString("text", finalSample); Elapsed(w); });
        Record("done", w =>
        {
            w.WriteNumber("step", step); w.WriteNumber("smooth_loss", smoothLoss);
            if (validation is { } v) w.WriteMeasure("val_bits_per_char", v.BitsPerChar);
            if (test is { } t) w.WriteMeasure("test_bits_per_char", t.BitsPerChar);
            w.WriteNumber("seconds", seconds); w.WriteString("checkpoint", checkpoint);
        });
        if (json) return;
        Line(Invariant($"done: {step} steps in {seconds:F1} s, smoothed loss {smoothLoss:F4} nats/char; saved {checkpoint}"));
        if (finalSample is not null) lock (_output) Terminal.Write(toError: false, () => Console.Out.WriteLine(finalSample));
    }

    /// <summary>A failure after the start (the message also goes to stderr with the exit code): a record in the JSON form.</summary>
    public void Error(string message, long step) => Record("error", w => { w.WriteNumber("step", step); w.WriteString("message", message); });

    /// <summary>Ends the live line (before an error or the closing lines).</summary>
    public void Finish()
    {
        lock (_output) _progress.Finish();
    }

    private void Line(string text)
    {
        lock (_output) _progress.Line(text);
    }

    private void Elapsed(Utf8JsonWriter w) => w.WriteNumber("elapsed_s", Math.Round(_elapsed.Elapsed.TotalSeconds, 3));

    // One record: on stdout with --json, and in the log.
    private void Record(string name, Action<Utf8JsonWriter> fields)
    {
        if (!json && log is null) return;
        var line = JsonLine.Format(w => { w.WriteString("event", name); fields(w); });
        string? failed = null;
        lock (_output)
        {
            if (json)
                Terminal.Write(toError: false, () =>
                {
                    var stdout = Console.OpenStandardOutput();
                    stdout.Write(line);
                    stdout.Flush();
                });
            if (log is not null) failed = log.Append(line);
        }
        if (failed is not null) Warning(failed);
    }

    private static string Duration(double seconds) => seconds < 1 ? Invariant($"{seconds * 1000:F0} ms") : Invariant($"{seconds:F1} s");

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
