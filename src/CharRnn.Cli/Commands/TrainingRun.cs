using System.Diagnostics;
using System.Globalization;
using CharRnn.Cli.Output;
using CharRnn.Fast.Data;
using CharRnn.Fast.Inference;
using CharRnn.Fast.Model;
using CharRnn.Fast.Training;

namespace CharRnn.Cli.Commands;

/// <summary>
/// When a run reports, validates, saves and samples (the command line's numbers; 0 = never). Each validation pass reads
/// at most <see cref="ValidationLength"/> predictions per stream (long.MaxValue: the whole range); <see cref="Patience"/>
/// &gt; 0 stops after that many passes in a row without a better one.
/// </summary>
internal sealed record RunSchedule(long TotalSteps, int PrintEvery, int EvalEvery, int CheckpointEvery, int SampleEvery, int SampleLength,
    long ValidationLength = long.MaxValue, int Patience = 0);

/// <summary>The held-out ranges of the text (views of the token source): validation and test, null when absent.</summary>
internal sealed record HeldOut(ITokenSource? Validation, ITokenSource? Test);

/// <summary>
/// The best validation of a run so far: its loss, its step, and the passes since then. Checkpoints carry it, so
/// <c>--keep-best</c> and <c>--patience</c> continue across a <c>--resume</c>.
/// </summary>
internal sealed record BestValidation(double Nats, long Step, int Since)
{
    private const string NatsKey = "cli.best_val_nats", StepKey = "cli.best_step", SinceKey = "cli.validations_since_best";

    /// <summary>The record in a checkpoint's metadata, or null (none yet, or written before it was recorded).</summary>
    public static BestValidation? From(IReadOnlyDictionary<string, string>? metadata)
        => metadata is not null && metadata.TryGetValue(NatsKey, out var nats) && metadata.TryGetValue(StepKey, out var step) && metadata.TryGetValue(SinceKey, out var since)
           && double.TryParse(nats, NumberStyles.Float, CultureInfo.InvariantCulture, out double n) && double.IsFinite(n)
           && long.TryParse(step, NumberStyles.None, CultureInfo.InvariantCulture, out long s) && int.TryParse(since, NumberStyles.None, CultureInfo.InvariantCulture, out int k)
            ? new BestValidation(n, s, k) : null;

    public void WriteTo(Dictionary<string, string> metadata)
    {
        metadata[NatsKey] = Nats.ToString("R", CultureInfo.InvariantCulture);
        metadata[StepKey] = Step.ToString(CultureInfo.InvariantCulture);
        metadata[SinceKey] = Since.ToString(CultureInfo.InvariantCulture);
    }
}

/// <summary>
/// The loop of <c>charrnn train</c> once the trainer is set up: steps, progress, validation, checkpoints and samples on
/// their schedule, early stopping, the closing validation, test, save and sample, and stopping on Ctrl+C
/// (<see cref="StopRequest"/>). Validation and test run on the trainer's threads and workspaces, B streams at a time.
/// </summary>
internal sealed class TrainingRun(
    Trainer trainer,
    HeldOut heldOut,
    CheckpointTarget checkpoint,
    CheckpointTarget? best,                 // --keep-best: where the best validation's checkpoint goes
    Dictionary<string, string> metadata,
    BestValidation? bestSoFar,              // from the checkpoint a resumed run started from
    bool validationDue,                     // that checkpoint's validation at its step was cut short: run it first
    bool closingDue,                        // that checkpoint's closing steps (validation, test) were cut short
    Rng sampleRng,
    Func<ulong, string> sample,             // a sample from the current model, given its seed
    RunSchedule schedule,
    TrainReport report)
{
    private readonly TrainingClock _clock = new((long)trainer.Options.SequenceLength * trainer.Options.BatchSize);
    private readonly long _firstStep = trainer.Step;
    private BestValidation? _best = bestSoFar;
    private Evaluation? _last;              // the last validation, and its step
    private long _lastStep = -1;
    private BatchedEvaluator? _batched, _single; // on the trainer's threads and workspaces; one stream on one thread (no threads to stop)

    /// <summary>Predictions one validation pass reads (0 without validation).</summary>
    public long ValidationPredictions => heldOut.Validation is { } v ? Predictions(v, schedule.ValidationLength) : 0;

    /// <summary>Runs to the end (exit code 0) or to a Ctrl+C (130); a non-finite loss is a <see cref="CommandError"/>.</summary>
    public int Execute(TrainStart start, IEnumerable<string> warnings)
    {
        using var stop = new StopRequest(() => report.Stopping(checkpoint.Path), QuitWithoutSaving);
        report.Start(start);
        foreach (var warning in warnings) report.Warning(warning);
        var wall = Stopwatch.StartNew();
        try
        {
            EstimateValidation(stop.Token);
            // a checkpoint whose run had stopped early (--patience ran out) before its closing steps were cut short
            // trains no further, as the straight run did not
            bool stopped = closingDue && schedule.Patience > 0 && _best is { } b && b.Since >= schedule.Patience
                || validationDue && trainer.Step < schedule.TotalSteps && Periodic(trainer.Step) && ValidateOnSchedule(trainer.Step, stop);
            if (!stopped) stopped = Loop(stop);
            report.Finish();
            // a Ctrl+C during the last step (or just after it, or after an early stop) ends the loop with every step
            // trained: what is left are the closing steps, which the checkpoint must then say are due
            _closing = stopped || trainer.Step >= schedule.TotalSteps;
            if (stop.IsRequested) return Interrupted(stop);
            _closing = true;
            // the closing pass (unless an early stop has just validated, or a resume only finishes closing steps whose
            // validation had run); between two periodic passes it is reported only, so a run cut there continues with the
            // same best and patience as a straight run
            bool validate = _lastStep != trainer.Step && (trainer.Step > _firstStep || validationDue || !closingDue);
            var final = validate ? Validate(trainer.Step, Compared(trainer.Step), stop.Token) : _lastStep == trainer.Step ? _last : null;
            if (stop.IsRequested) return Interrupted(stop); // during the closing validation
            var test = Test(stop.Token);
            if (stop.IsRequested) return Interrupted(stop);
            stop.FinishFirst();
            Save(periodic: false);
            stop.Dispose(); // saved: from here a Ctrl+C loses nothing and ends the process as usual
            double seconds = wall.Elapsed.TotalSeconds;
            string? finalSample = schedule.SampleLength > 0 ? DrawSample() : null;
            report.Done(trainer.Step, trainer.SmoothLoss, final, test, seconds, checkpoint.Path, finalSample);
            return 0;
        }
        catch (NonFiniteTrainingException e)
        {
            throw Failed($"{e.Message}. Training stopped; {checkpoint.DescribeWritten()}", e.Step);
        }
        catch (TokenStoreFormatException e) // the store changed under the run (it is checked before step 1)
        {
            throw Failed($"{e.Message}. Training stopped; {checkpoint.DescribeWritten()}");
        }
        catch (CommandError e)
        {
            throw Failed(e.Message);
        }
    }

    /// <summary>Trains to the total, a Ctrl+C or an early stop; true for the early stop.</summary>
    private bool Loop(StopRequest stop)
    {
        long total = schedule.TotalSteps;
        var wall = Stopwatch.StartNew();
        double lastShown = 0;
        while (trainer.Step < total && !stop.IsRequested)
        {
            long begin = Stopwatch.GetTimestamp();
            double loss = trainer.TrainStep();
            _clock.StepTook(Stopwatch.GetTimestamp() - begin);
            long step = trainer.Step;
            bool scheduled = step % schedule.PrintEvery == 0 || step == total;
            if (scheduled || (report.Live && wall.Elapsed.TotalSeconds - lastShown > 0.2))
            {
                lastShown = wall.Elapsed.TotalSeconds;
                double rate = _clock.TakeRate();
                report.Progress(step, total, loss, trainer.SmoothLoss, rate, _clock.Eta(total - step, ValidationsLeft(step)), trainer.CurrentLearningRate, scheduled);
            }
            // the step's sample comes first, so every checkpoint of the step (periodic, best, Ctrl+C) holds the sampling
            // RNG after its draw; the last step's validation and save come after the loop, its periodic sample stays:
            // a run cut in two draws the sampling RNG exactly as a straight one does
            if (schedule.SampleEvery > 0 && schedule.SampleLength > 0 && step % schedule.SampleEvery == 0)
                report.Sample(step, DrawSample(), final: false);
            bool stopEarly = Periodic(step) && step < total && ValidateOnSchedule(step, stop);
            if (schedule.CheckpointEvery > 0 && step % schedule.CheckpointEvery == 0 && step < total)
            {
                if (stop.IsRequested) stop.FinishFirst(); // the save the stop asked for: the run ends with it (Interrupted)
                Save(periodic: true);
            }
            if (stopEarly) return true;
        }
        return false;
    }

    // A sample from the model as it is now; weights an update made so large that the outputs overflow stop the run here
    // (the next step's loss would).
    private string DrawSample()
    {
        try { return sample(sampleRng.NextUInt64()); }
        catch (NonFiniteOutputException)
        {
            throw new NonFiniteTrainingException($"the update of step {trainer.Step} made the model's outputs overflow (NaN): lower the learning rate", trainer.Step);
        }
    }

    private bool Periodic(long step) => schedule.EvalEvery > 0 && step % schedule.EvalEvery == 0;

    /// <summary>
    /// Whether a pass at <paramref name="step"/> is compared with the best (--keep-best, --patience): a periodic one, or
    /// the closing one of a run that has no periodic pass before it (--eval-every 0, or more than the run's steps).
    /// </summary>
    private bool Compared(long step) => schedule.EvalEvery == 0 || step <= schedule.EvalEvery || step % schedule.EvalEvery == 0;

    /// <summary>A periodic validation pass at <paramref name="step"/>; true when it leaves --patience run out (reported).</summary>
    private bool ValidateOnSchedule(long step, StopRequest stop)
    {
        Validate(step, counts: true, stop.Token);
        if (schedule.Patience == 0 || _lastStep != step || _best is not { } b || b.Since < schedule.Patience) return false;
        report.EarlyStop(step, schedule.Patience, b.Since, b.Step, new Evaluation(b.Nats, 0));
        return true;
    }

    /// <summary>Validation passes still to come after the report at <paramref name="step"/>: periodic ones in [step, total), and the closing one.</summary>
    private long ValidationsLeft(long step)
    {
        if (heldOut.Validation is null) return 0;
        long every = schedule.EvalEvery, last = schedule.TotalSteps - 1;
        return (every > 0 ? last / every - (step - 1) / every : 0) + 1;
    }

    /// <summary>
    /// Validation bits/char, reported; null without a validation range or when a Ctrl+C cut the pass short. A pass that
    /// <paramref name="counts"/> is compared with the best so far (--keep-best, --patience).
    /// </summary>
    private Evaluation? Validate(long step, bool counts, CancellationToken stop)
    {
        if (heldOut.Validation is not { } validation) return null;
        long begin = Stopwatch.GetTimestamp();
        Evaluation result;
        try { result = Evaluate(validation, schedule.ValidationLength, stop); }
        catch (OperationCanceledException) { return null; }
        double seconds = Stopwatch.GetElapsedTime(begin).TotalSeconds;
        _clock.ValidationTook(seconds);
        (_last, _lastStep) = (result, step);
        if (!counts)
        {
            report.Validation(step, result, seconds, null);
            return result;
        }
        bool improved = double.IsFinite(result.NatsPerChar) && (_best is null || result.NatsPerChar < _best.Nats);
        if (improved) _best = new BestValidation(result.NatsPerChar, step, 0);
        else if (_best is not null) _best = _best with { Since = _best.Since + 1 }; // a NaN pass is never the best
        report.Validation(step, result, seconds, best is not null || schedule.Patience > 0 ? improved : null);
        if (improved && best is not null)
        {
            _best!.WriteTo(metadata);
            MarkDue(step);
            EnsureFinite();
            best.Save(trainer.Model, trainer, metadata, sampleRng.SaveState(), () => report.Saved(step, best.Path, periodic: false, best: true));
        }
        return result;
    }

    /// <summary>Test bits/char over the whole test range, once; null without one or when a Ctrl+C cut it short.</summary>
    private Evaluation? Test(CancellationToken stop)
    {
        if (heldOut.Test is not { } test) return null;
        long begin = Stopwatch.GetTimestamp();
        Evaluation result;
        try { result = Evaluate(test, long.MaxValue, stop); }
        catch (OperationCanceledException) { return null; }
        report.Test(trainer.Step, result, Stopwatch.GetElapsedTime(begin).TotalSeconds);
        return result;
    }

    /// <summary>
    /// A held-out range read as the batch's B streams on the trainer's threads, or as one stream when it has fewer than
    /// B + 1 characters; at most <paramref name="streamLength"/> predictions per stream.
    /// </summary>
    private Evaluation Evaluate(ITokenSource range, long streamLength, CancellationToken stop)
    {
        var evaluator = Batched(range) ? _batched ??= trainer.CreateEvaluator() : _single ??= new BatchedEvaluator(trainer.Model, 1, trainer.Options.SequenceLength, 1, trainer.Policy);
        return evaluator.Evaluate(range, streamLength, cancellation: stop);
    }

    private bool Batched(ITokenSource range) => range.Length >= trainer.Options.BatchSize + 1L;

    private long Predictions(ITokenSource range, long streamLength)
    {
        long streams = Batched(range) ? trainer.Options.BatchSize : 1;
        return streams * Math.Min((range.Length - 1) / streams, streamLength);
    }

    /// <summary>
    /// Prices a validation pass before the first one is measured (the ETA includes them): a short pass of about 2²⁵
    /// multiply-adds is run twice (the first compiles the code) and the second, timed, is scaled to the pass.
    /// </summary>
    private void EstimateValidation(CancellationToken stop)
    {
        if (heldOut.Validation is not { } validation) return;
        long pass = Predictions(validation, schedule.ValidationLength);
        long streams = Batched(validation) ? trainer.Options.BatchSize : 1;
        long probe = Math.Clamp((1L << 25) / trainer.Model.Parameters.All.Length / streams, 1, pass / streams);
        try
        {
            Evaluate(validation, probe, stop);
            long begin = Stopwatch.GetTimestamp();
            Evaluate(validation, probe, stop);
            _clock.ValidationEstimate = Stopwatch.GetElapsedTime(begin).TotalSeconds * pass / (probe * streams);
        }
        catch (OperationCanceledException) { }
    }

    private void Save(bool periodic)
    {
        EnsureFinite();
        _best?.WriteTo(metadata);
        MarkDue(trainer.Step);
        checkpoint.Save(trainer.Model, trainer, metadata, sampleRng.SaveState(), () => report.Saved(trainer.Step, checkpoint.Path, periodic));
    }

    /// <summary>
    /// Metadata key present when a checkpoint's step is due a periodic validation that did not run (a Ctrl+C cut it
    /// short): the resumed run runs it before its first step, as a straight run would have.
    /// </summary>
    internal const string ValidationDueKey = "cli.validation_due";

    /// <summary>Metadata key present when a Ctrl+C cut a run's closing steps short: a resume to the same total finishes them.</summary>
    internal const string ClosingDueKey = "cli.closing_due";

    private bool _closing, _closingCut; // the loop is over; a Ctrl+C came after that

    private void MarkDue(long step)
    {
        // the checkpoint this run resumed at this step had already validated it, unless it said otherwise
        bool validatedBefore = step == _firstStep && !validationDue;
        if ((Periodic(step) || _closing) && heldOut.Validation is not null && _lastStep != step && !validatedBefore) metadata[ValidationDueKey] = "1";
        else metadata.Remove(ValidationDueKey);
        if (_closingCut) metadata[ClosingDueKey] = "1";
        else metadata.Remove(ClosingDueKey);
    }

    /// <summary>
    /// After the first Ctrl+C: the step's state is saved, unless this run has not trained a step, and that is reported;
    /// a second Ctrl+C from here changes nothing (and one that came first is ending the process: this waits for it).
    /// </summary>
    private int Interrupted(StopRequest stop)
    {
        stop.FinishFirst();
        bool trained = trainer.Step > _firstStep;
        _closingCut = _closing;
        // a periodic save of this step (an early stop's) did not yet say that the closing steps are due
        if (trained && (checkpoint.LastWrittenStep != trainer.Step || _closingCut)) Save(periodic: false);
        report.Interrupted(trainer.Step, trained ? checkpoint.Path : null);
        return StopRequest.ExitCode;
    }

    /// <summary>
    /// The second Ctrl+C before the run's last save began (on the signal's thread, before the process ends): a write
    /// under way is finished (and reported first), no other starts, and nothing is reported after this.
    /// </summary>
    private void QuitWithoutSaving()
    {
        checkpoint.StopWriting();
        best?.StopWriting();
        report.QuitWithoutSaving(trainer.Step, checkpoint.LastWrittenStep, checkpoint.DescribeWritten(), checkpoint.Path);
    }

    // a state that an update overflowed is never saved, so the file last written stays loadable
    private void EnsureFinite() => trainer.ThrowIfNotFinite();

    private CommandError Failed(string message, long? step = null)
    {
        report.Finish();
        report.Error(message, step ?? trainer.Step);
        return new CommandError(message);
    }
}
