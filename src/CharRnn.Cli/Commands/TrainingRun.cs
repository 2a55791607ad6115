using System.Diagnostics;
using CharRnn.Cli.Output;
using CharRnn.Fast.Model;
using CharRnn.Fast.Training;

namespace CharRnn.Cli.Commands;

/// <summary>When a run reports, validates, saves and samples (the command line's numbers; 0 = never).</summary>
internal sealed record RunSchedule(long TotalSteps, int PrintEvery, int EvalEvery, int CheckpointEvery, int SampleEvery, int SampleLength);

/// <summary>
/// The loop of <c>charrnn train</c> once the trainer is set up: steps, progress, validation, checkpoints and samples on
/// their schedule, the closing validation, save and sample, and stopping on Ctrl+C (<see cref="StopRequest"/>).
/// </summary>
internal sealed class TrainingRun(
    Trainer trainer,
    int[] validation,                       // the held-out tokens; fewer than 2 = no validation
    CheckpointTarget checkpoint,
    IReadOnlyDictionary<string, string> metadata,
    Rng sampleRng,
    Func<ulong, string> sample,             // a sample from the current model, given its seed
    RunSchedule schedule,
    TrainReport report)
{
    private readonly TrainingClock _clock = new((long)trainer.Options.SequenceLength * trainer.Options.BatchSize);
    private readonly long _firstStep = trainer.Step;

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
            Loop(stop);
            report.Finish();
            if (stop.IsRequested) return Interrupted();
            var final = Validate(trainer.Step, stop.Token);
            if (stop.IsRequested) return Interrupted(); // during the closing validation
            Save(periodic: false);
            stop.Dispose(); // saved: from here a Ctrl+C loses nothing and ends the process as usual
            double seconds = wall.Elapsed.TotalSeconds;
            string? finalSample = schedule.SampleLength > 0 ? sample(sampleRng.NextUInt64()) : null;
            report.Done(trainer.Step, trainer.SmoothLoss, final, seconds, checkpoint.Path, finalSample);
            return 0;
        }
        catch (NonFiniteTrainingException e)
        {
            throw Failed($"{e.Message}. Training stopped; {checkpoint.DescribeWritten()}");
        }
        catch (CommandError e)
        {
            throw Failed(e.Message);
        }
    }

    private void Loop(StopRequest stop)
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
            // the last step's validation and save come after the loop; its periodic sample stays, so a run cut in two
            // draws the sampling RNG exactly as a straight one does
            if (schedule.EvalEvery > 0 && step % schedule.EvalEvery == 0 && step < total) Validate(step, stop.Token);
            if (schedule.CheckpointEvery > 0 && step % schedule.CheckpointEvery == 0 && step < total) Save(periodic: true);
            if (schedule.SampleEvery > 0 && schedule.SampleLength > 0 && step % schedule.SampleEvery == 0)
                report.Sample(step, sample(sampleRng.NextUInt64()), final: false);
        }
    }

    /// <summary>Validation passes still to come after the report at <paramref name="step"/>: periodic ones in [step, total), and the closing one.</summary>
    private long ValidationsLeft(long step)
    {
        if (validation.Length < 2) return 0;
        long every = schedule.EvalEvery, last = schedule.TotalSteps - 1;
        return (every > 0 ? last / every - (step - 1) / every : 0) + 1;
    }

    /// <summary>Validation bits/char, reported; null without a validation set or when a Ctrl+C cut the pass short.</summary>
    private Evaluation? Validate(long step, CancellationToken stop)
    {
        if (validation.Length < 2) return null;
        long begin = Stopwatch.GetTimestamp();
        Evaluation result;
        try { result = Evaluator.Evaluate(trainer.Model, validation, policy: trainer.Policy, cancellation: stop); }
        catch (OperationCanceledException) { return null; }
        double seconds = Stopwatch.GetElapsedTime(begin).TotalSeconds;
        _clock.ValidationTook(seconds);
        report.Validation(step, result, seconds);
        return result;
    }

    /// <summary>
    /// Prices a validation pass before the first one is measured (the ETA includes them): a short pass of about 2²⁵
    /// multiply-adds is run twice (the first compiles the code) and the second, timed, is scaled to the whole text.
    /// </summary>
    private void EstimateValidation(CancellationToken stop)
    {
        if (validation.Length < 2) return;
        var model = trainer.Model;
        long perToken = (long)model.HiddenSize * (model.HiddenSize + model.VocabularySize);
        int probe = (int)Math.Min(validation.Length, Math.Max(512, (1L << 25) / perToken));
        try
        {
            Evaluator.Evaluate(model, validation.AsSpan(0, probe), policy: trainer.Policy, cancellation: stop);
            long begin = Stopwatch.GetTimestamp();
            Evaluator.Evaluate(model, validation.AsSpan(0, probe), policy: trainer.Policy, cancellation: stop);
            _clock.ValidationEstimate = Stopwatch.GetElapsedTime(begin).TotalSeconds * (validation.Length - 1) / (probe - 1);
        }
        catch (OperationCanceledException) { }
    }

    private void Save(bool periodic)
    {
        checkpoint.Save(trainer.Model, trainer, metadata, sampleRng.SaveState());
        report.Saved(trainer.Step, checkpoint.Path, periodic);
    }

    /// <summary>After the first Ctrl+C: the step's state is saved, unless this run has not trained a step.</summary>
    private int Interrupted()
    {
        bool trained = trainer.Step > _firstStep;
        if (trained && checkpoint.LastWrittenStep != trainer.Step) Save(periodic: false);
        report.Interrupted(trainer.Step, trained ? checkpoint.Path : null);
        return StopRequest.ExitCode;
    }

    /// <summary>The second Ctrl+C (on the signal's thread, before the process ends): a write under way is finished, no other starts.</summary>
    private void QuitWithoutSaving()
    {
        checkpoint.StopWriting();
        report.QuitWithoutSaving(trainer.Step, checkpoint.LastWrittenStep, checkpoint.DescribeWritten(), checkpoint.Path);
    }

    private CommandError Failed(string message)
    {
        report.Finish();
        report.Error(message, trainer.Step);
        return new CommandError(message);
    }
}
