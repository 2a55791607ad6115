using System.Globalization;
using CharRnn.Cli.Arguments;
using CharRnn.Fast.IO;
using CharRnn.Fast.Model;
using CharRnn.Fast.Training;

namespace CharRnn.Cli.Commands;

/// <summary>
/// What a resumed run may not change, because a bit-identical continuation depends on it: the checkpoint's model and
/// optimizer options, and the text. Flags are compared by value, so repeating one with the checkpoint's value is fine.
/// </summary>
internal static class ResumeCheck
{
    // the flags whose value a checkpoint fixes, and the option each one sets (--threads may change)
    private static readonly (string Flag, Func<TrainingOptions, object> Value)[] FixedOptions =
    [
        ("seq-len", o => o.SequenceLength), ("batch", o => o.BatchSize), ("optimizer", o => o.Optimizer),
        ("lr", o => o.LearningRate), ("beta1", o => o.Beta1), ("beta2", o => o.Beta2), ("eps", o => o.Epsilon),
        ("clip", o => o.ClipValue), ("clip-norm", o => o.ClipNorm), ("lr-decay", o => o.LearningRateDecay),
        ("lr-decay-every", o => o.DecayEvery), ("init", o => o.WeightInit), ("init-bias", o => o.BiasInit), ("seed", o => o.Seed),
        ("alpha", o => o.Alpha), ("dropout", o => o.Dropout), ("forget-bias", o => o.ForgetBias),
    ];

    /// <summary>
    /// Throws a <see cref="UsageException"/> for the first flag given with a value other than the checkpoint's;
    /// <paramref name="given"/> is the options the flags make over the checkpoint's.
    /// </summary>
    public static void SameOptions(ParsedArguments a, TrainingOptions given, TrainingResume checkpoint, CharRnnModel model, double validationFraction, double testFraction)
    {
        foreach (var (flag, value) in FixedOptions)
            if (a.Has(flag) && !Equals(value(given), value(checkpoint.Options))) throw Changed(a, flag, Show(value(checkpoint.Options)));
        if (a.Has("hidden") && a.Int("hidden", 0, 1, 65536) != model.HiddenSize) throw Changed(a, "hidden", Show(model.HiddenSize));
        if (a.Has("layers") && a.Int("layers", 0, 1, 64) != model.Layers) throw Changed(a, "layers", Show(model.Layers));
        if (a.String("cell") is { } cell && (!CellKinds.TryParse(cell, out var kind) || kind != model.Cell)) throw Changed(a, "cell", model.Cell.Name());
        if (a.Has("val-frac") && a.Double("val-frac", 0, 0, 0.5) != validationFraction) throw Changed(a, "val-frac", Show(validationFraction));
        if (a.Has("test-frac") && a.Double("test-frac", 0, 0, 0.5) != testFraction) throw Changed(a, "test-frac", Show(testFraction));
        if (a.Has("relu") && model.Nonlinearity != Nonlinearity.Relu)
            throw new UsageException("--relu cannot change on --resume: the checkpoint's hidden units are tanh");
        if (a.Has("lines") && !model.SequenceMode)
            throw new UsageException("--lines cannot change on --resume: the checkpoint is a stream-mode model");
    }

    /// <summary>
    /// Throws a <see cref="CommandError"/> when the text (<paramref name="length"/> tokens, fingerprint
    /// <paramref name="hash"/>) is not the one the checkpoint recorded. Returns a warning for a checkpoint that recorded
    /// none (written before text fingerprints), null otherwise.
    /// </summary>
    public static string? SameText(TrainingResume checkpoint, string checkpointPath, long length, string hash, string textName)
    {
        if (checkpoint.TextLength is null || checkpoint.TextHash is null)
            return $"'{checkpointPath}' does not record its training text's fingerprint: resuming on {textName} unchecked";
        if (checkpoint.TextLength == length && checkpoint.TextHash == hash) return null;
        throw new CommandError(string.Create(CultureInfo.InvariantCulture,
            $"{textName} is not the text '{checkpointPath}' was trained on: it has {length:N0} characters ({hash}), the checkpoint's text had " +
            $"{checkpoint.TextLength:N0} ({checkpoint.TextHash}). Resume with the same text (and --lines framing), or start a new run from the checkpoint's weights with --init-from"));
    }

    private static UsageException Changed(ParsedArguments a, string flag, string stored)
        => new($"--{flag} {a.String(flag)} differs from the checkpoint's {stored}: options the checkpoint fixes cannot change on --resume");

    private static string Show(object value) => value switch
    {
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        OptimizerKind k => k.ToString().ToLowerInvariant(),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
