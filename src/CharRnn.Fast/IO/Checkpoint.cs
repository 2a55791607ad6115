using System.Globalization;
using CharRnn.Fast.Model;
using CharRnn.Fast.Text;
using CharRnn.Fast.Training;

namespace CharRnn.Fast.IO;

/// <summary>
/// Models and training state as safetensors files (see README, "Checkpoint format"). Weights are stored in their math
/// shapes (Wxh [H,V], Whh [H,H], bh [H], Why [V,H], by [V]); the optimizer's moments as extra tensors in the same shapes
/// ("adam.m.Wxh", "adagrad.mem.Whh", …); everything else in string metadata. Writes are atomic. A file with only the five
/// weights and a "vocab" entry is a valid model, whoever wrote it.
/// </summary>
public static class Checkpoint
{
    private static readonly string[] WeightNames = [CheckpointKeys.Wxh, CheckpointKeys.Whh, CheckpointKeys.Bh, CheckpointKeys.Why, CheckpointKeys.By];

    /// <summary>
    /// Writes <paramref name="model"/> (and, if given, everything <paramref name="trainer"/> needs to resume exactly) to
    /// <paramref name="path"/>, atomically. <paramref name="extraMetadata"/> entries are stored as given.
    /// </summary>
    public static void Save(string path, CharRnnModel model, Trainer? trainer = null, IReadOnlyDictionary<string, string>? extraMetadata = null, string? rngState = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var metadata = new Dictionary<string, string>();
        if (extraMetadata is not null) foreach (var (k, v) in extraMetadata) metadata[k] = v;
        metadata[CheckpointKeys.Format] = CheckpointKeys.FormatTag;
        metadata[CheckpointKeys.Vocabulary] = model.Vocabulary.ToJson();
        metadata[CheckpointKeys.HiddenSize] = Invariant(model.HiddenSize);
        metadata[CheckpointKeys.Nonlinearity] = model.Nonlinearity == Nonlinearity.Relu ? "relu" : "tanh";
        metadata[CheckpointKeys.Mode] = model.SequenceMode ? "lines" : "stream";

        var tensors = new List<SafetensorsTensor>();
        AddWeights(tensors, model.Parameters, prefix: null);
        if (trainer is not null)
        {
            var o = trainer.Options;
            metadata[CheckpointKeys.Optimizer] = OptimizerName(o.Optimizer);
            metadata[CheckpointKeys.LearningRate] = Invariant(o.LearningRate);
            metadata[CheckpointKeys.Beta1] = Invariant(o.Beta1);
            metadata[CheckpointKeys.Beta2] = Invariant(o.Beta2);
            metadata[CheckpointKeys.Epsilon] = Invariant(o.Epsilon);
            metadata[CheckpointKeys.Clip] = Invariant(o.ClipValue);
            metadata[CheckpointKeys.ClipNorm] = Invariant(o.ClipNorm);
            metadata[CheckpointKeys.LearningRateDecay] = Invariant(o.LearningRateDecay);
            metadata[CheckpointKeys.DecayEvery] = Invariant(o.DecayEvery);
            metadata[CheckpointKeys.SequenceLength] = Invariant(o.SequenceLength);
            metadata[CheckpointKeys.BatchSize] = Invariant(o.BatchSize);
            metadata[CheckpointKeys.Threads] = Invariant(o.Threads);
            metadata[CheckpointKeys.Seed] = o.Seed.ToString(CultureInfo.InvariantCulture);
            metadata[CheckpointKeys.Init] = o.WeightInit.ToString();
            metadata[CheckpointKeys.InitBias] = o.BiasInit.ToString();
            metadata[CheckpointKeys.Step] = Invariant(trainer.Step);
            metadata[CheckpointKeys.Epoch] = Invariant(trainer.Epoch);
            metadata[CheckpointKeys.Cursor] = Invariant(trainer.Cursor);
            metadata[CheckpointKeys.SmoothLoss] = Invariant(trainer.SmoothLoss);
            metadata[CheckpointKeys.OptimizerSteps] = Invariant(trainer.Optimizer.StepCount);
            if (rngState is not null) metadata[CheckpointKeys.RngState] = rngState;
            tensors.Add(new SafetensorsTensor(CheckpointKeys.TrainHidden, [o.BatchSize, model.HiddenSize], TrainingState(trainer)));
            var (first, second) = MomentPrefixes(o.Optimizer);
            if (first is not null) AddWeights(tensors, trainer.Optimizer.FirstMoment!, first);
            if (second is not null) AddWeights(tensors, trainer.Optimizer.SecondMoment!, second);
        }
        SafetensorsWriter.Write(path, tensors, metadata);
    }

    /// <summary>Reads a model (and training state, if present) from <paramref name="path"/>. Throws <see cref="CheckpointFormatException"/> for any problem with the file.</summary>
    public static LoadedCheckpoint Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"model file '{path}' does not exist", path);
        return FromContents(SafetensorsReader.Read(path), path);
    }

    /// <summary>Reads a model from the bytes of a safetensors file (e.g. embedded in an app).</summary>
    public static LoadedCheckpoint Load(ReadOnlySpan<byte> bytes) => FromContents(SafetensorsReader.Read(bytes), "the model buffer");

    private static LoadedCheckpoint FromContents(SafetensorsContents file, string source)
    {
        var meta = file.Metadata;
        if (meta.TryGetValue(CheckpointKeys.Format, out var format) && !format.StartsWith("charrnn-fast/", StringComparison.Ordinal))
            throw new CheckpointFormatException($"{source}: format '{format}' is not a CharRnn.Fast checkpoint");
        if (format is not null && format != CheckpointKeys.FormatTag)
            throw new CheckpointFormatException($"{source}: format '{format}' is newer than this version reads ({CheckpointKeys.FormatTag})");
        if (!meta.TryGetValue(CheckpointKeys.Vocabulary, out var vocabJson))
            throw new CheckpointFormatException($"{source}: the metadata has no \"{CheckpointKeys.Vocabulary}\" entry (a JSON array of the vocabulary's characters in id order)");
        Vocabulary vocabulary;
        try { vocabulary = Vocabulary.FromJson(vocabJson); }
        catch (FormatException e) { throw new CheckpointFormatException($"{source}: bad \"{CheckpointKeys.Vocabulary}\": {e.Message}"); }

        var whh = file.Get(CheckpointKeys.Whh);
        if (whh.Shape.Length != 2 || whh.Shape[0] != whh.Shape[1] || whh.Shape[0] < 1)
            throw new CheckpointFormatException($"{source}: Whh must be a square [H,H] matrix, got {ShapeText(whh.Shape)}");
        int h = whh.Shape[0], v = vocabulary.Count;
        if (meta.TryGetValue(CheckpointKeys.HiddenSize, out var hs) && hs != Invariant(h))
            throw new CheckpointFormatException($"{source}: hidden_size says {hs} but Whh is {ShapeText(whh.Shape)}");
        var nonlinearity = meta.GetValueOrDefault(CheckpointKeys.Nonlinearity, "tanh") switch
        {
            "tanh" => Nonlinearity.Tanh,
            "relu" => Nonlinearity.Relu,
            var other => throw new CheckpointFormatException($"{source}: nonlinearity '{other}' is not tanh or relu"),
        };
        bool lines = meta.GetValueOrDefault(CheckpointKeys.Mode, "stream") switch
        {
            "stream" => false,
            "lines" => true,
            var other => throw new CheckpointFormatException($"{source}: mode '{other}' is not stream or lines"),
        };
        if (lines && !vocabulary.TryGetId(new System.Text.Rune('\n'), out _))
            throw new CheckpointFormatException($"{source}: a lines model's vocabulary must contain \\n");

        var parameters = new RnnParameters(RnnShape.ForCharacters(v, h));
        ReadWeights(file, parameters, prefix: null, source);
        if (!parameters.AllFinite()) throw new CheckpointFormatException($"{source}: the weights contain NaN or infinite values");
        var model = new CharRnnModel(vocabulary, parameters, nonlinearity, lines);

        TrainingResume? training = null;
        if (meta.ContainsKey(CheckpointKeys.Optimizer)) training = ReadTraining(file, model, source);
        return new LoadedCheckpoint(model, meta, training);
    }

    private static TrainingResume ReadTraining(SafetensorsContents file, CharRnnModel model, string source)
    {
        var meta = file.Metadata;
        var kind = meta[CheckpointKeys.Optimizer] switch
        {
            "sgd" => OptimizerKind.Sgd,
            "adagrad" => OptimizerKind.Adagrad,
            "adam" => OptimizerKind.Adam,
            var other => throw new CheckpointFormatException($"{source}: optimizer '{other}' is not sgd, adagrad or adam"),
        };
        TrainingOptions options;
        try
        {
            options = new TrainingOptions
            {
                Optimizer = kind,
                LearningRate = Double(meta, CheckpointKeys.LearningRate, source),
                Beta1 = Double(meta, CheckpointKeys.Beta1, source),
                Beta2 = Double(meta, CheckpointKeys.Beta2, source),
                Epsilon = Double(meta, CheckpointKeys.Epsilon, source),
                ClipValue = Double(meta, CheckpointKeys.Clip, source),
                ClipNorm = Double(meta, CheckpointKeys.ClipNorm, source),
                LearningRateDecay = Double(meta, CheckpointKeys.LearningRateDecay, source),
                DecayEvery = (int)Long(meta, CheckpointKeys.DecayEvery, source),
                SequenceLength = (int)Long(meta, CheckpointKeys.SequenceLength, source),
                BatchSize = (int)Long(meta, CheckpointKeys.BatchSize, source),
                Threads = (int)Long(meta, CheckpointKeys.Threads, source),
                Seed = ulong.TryParse(meta.GetValueOrDefault(CheckpointKeys.Seed), NumberStyles.None, CultureInfo.InvariantCulture, out var seed) ? seed
                    : throw new CheckpointFormatException($"{source}: metadata \"{CheckpointKeys.Seed}\" is missing or not an unsigned integer"),
                WeightInit = InitScheme.Parse(meta.GetValueOrDefault(CheckpointKeys.Init, "normal:0.01")),
                BiasInit = InitScheme.Parse(meta.GetValueOrDefault(CheckpointKeys.InitBias, "zero")),
            };
            options.Validate();
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            throw new CheckpointFormatException($"{source}: bad training options: {e.Message}");
        }

        var optimizer = new Optimizer(kind, model.Parameters.Shape) { StepCount = Long(meta, CheckpointKeys.OptimizerSteps, source) };
        var (first, second) = MomentPrefixes(kind);
        if (first is not null) ReadWeights(file, optimizer.FirstMoment!, first, source);
        if (second is not null) ReadWeights(file, optimizer.SecondMoment!, second, source);

        var hidden = file.Get(CheckpointKeys.TrainHidden);
        if (hidden.Shape.Length != 2 || hidden.Shape[0] != options.BatchSize || hidden.Shape[1] != model.HiddenSize)
            throw new CheckpointFormatException($"{source}: {CheckpointKeys.TrainHidden} must be [{options.BatchSize},{model.HiddenSize}], got {ShapeText(hidden.Shape)}");
        return new TrainingResume(model, options, optimizer, hidden.Data,
            Long(meta, CheckpointKeys.Step, source), Long(meta, CheckpointKeys.Epoch, source), (int)Long(meta, CheckpointKeys.Cursor, source),
            Double(meta, CheckpointKeys.SmoothLoss, source), meta.GetValueOrDefault(CheckpointKeys.RngState));
    }

    private static void AddWeights(List<SafetensorsTensor> tensors, RnnParameters p, string? prefix)
    {
        int h = p.Shape.HiddenSize, v = p.Shape.InputSize;
        var wxh = new float[h * v];
        Kernels.RowKernels.Transpose(Kernels.KernelPolicy.Best, wxh, p.WxhT, v, h); // stored [V,H] inside, [H,V] in the file
        tensors.Add(new SafetensorsTensor(Name(prefix, CheckpointKeys.Wxh), [h, v], wxh));
        tensors.Add(new SafetensorsTensor(Name(prefix, CheckpointKeys.Whh), [h, h], p.Whh.ToArray()));
        tensors.Add(new SafetensorsTensor(Name(prefix, CheckpointKeys.Bh), [h], p.Bh.ToArray()));
        tensors.Add(new SafetensorsTensor(Name(prefix, CheckpointKeys.Why), [p.Shape.OutputSize, h], p.Why.ToArray()));
        tensors.Add(new SafetensorsTensor(Name(prefix, CheckpointKeys.By), [p.Shape.OutputSize], p.By.ToArray()));
    }

    private static void ReadWeights(SafetensorsContents file, RnnParameters p, string? prefix, string source)
    {
        int h = p.Shape.HiddenSize, v = p.Shape.InputSize;
        var wxh = Expect(file, Name(prefix, CheckpointKeys.Wxh), [h, v], source);
        Kernels.RowKernels.Transpose(Kernels.KernelPolicy.Best, p.WxhT, wxh.Data, h, v);
        Expect(file, Name(prefix, CheckpointKeys.Whh), [h, h], source).Data.CopyTo(p.Whh);
        Expect(file, Name(prefix, CheckpointKeys.Bh), [h], source).Data.CopyTo(p.Bh);
        Expect(file, Name(prefix, CheckpointKeys.Why), [v, h], source).Data.CopyTo(p.Why);
        Expect(file, Name(prefix, CheckpointKeys.By), [v], source).Data.CopyTo(p.By);
    }

    private static SafetensorsTensor Expect(SafetensorsContents file, string name, int[] shape, string source)
    {
        var t = file.Get(name);
        // a column vector [H,1] (numpy's seeds keep biases that way) is accepted for a vector [H]
        bool vectorAsColumn = shape.Length == 1 && t.Shape.Length == 2 && t.Shape[0] == shape[0] && t.Shape[1] == 1;
        if (!vectorAsColumn && !t.Shape.AsSpan().SequenceEqual(shape))
            throw new CheckpointFormatException($"{source}: tensor '{name}' is {ShapeText(t.Shape)} but the vocabulary ({(shape.Length > 1 ? shape[1] : shape[0])}) and Whh imply {ShapeText(shape)}");
        return t;
    }

    private static float[] TrainingState(Trainer trainer)
    {
        var state = new float[trainer.StateSize];
        trainer.CopyStateTo(state);
        return state;
    }

    private static (string? First, string? Second) MomentPrefixes(OptimizerKind kind) => kind switch
    {
        OptimizerKind.Adagrad => ("adagrad.mem", null),
        OptimizerKind.Adam => ("adam.m", "adam.v"),
        _ => (null, null),
    };

    private static string OptimizerName(OptimizerKind kind) => kind switch
    {
        OptimizerKind.Sgd => "sgd",
        OptimizerKind.Adagrad => "adagrad",
        _ => "adam",
    };

    private static string Name(string? prefix, string tensor) => prefix is null ? tensor : CheckpointKeys.Moment(prefix, tensor);
    private static string ShapeText(int[] shape) => "[" + string.Join(",", shape) + "]";
    private static string Invariant(double x) => x.ToString("R", CultureInfo.InvariantCulture);
    private static string Invariant(long x) => x.ToString(CultureInfo.InvariantCulture);

    private static double Double(IReadOnlyDictionary<string, string> meta, string key, string source)
        => meta.TryGetValue(key, out var s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && double.IsFinite(x) ? x
            : throw new CheckpointFormatException($"{source}: metadata \"{key}\" is missing or not a number");

    private static long Long(IReadOnlyDictionary<string, string> meta, string key, string source)
        => meta.TryGetValue(key, out var s) && long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var x) ? x
            : throw new CheckpointFormatException($"{source}: metadata \"{key}\" is missing or not a non-negative integer");
}

/// <summary>A model read from a file, its metadata, and its training state if the file is a resumable checkpoint.</summary>
public sealed class LoadedCheckpoint(CharRnnModel model, IReadOnlyDictionary<string, string> metadata, TrainingResume? training)
{
    public CharRnnModel Model { get; } = model;
    public IReadOnlyDictionary<string, string> Metadata { get; } = metadata;

    /// <summary>Null for a weights-only model file.</summary>
    public TrainingResume? Training { get; } = training;
}

/// <summary>The state of an interrupted training run: options, optimizer moments, step, data cursor, hidden state.</summary>
public sealed class TrainingResume
{
    private readonly CharRnnModel _model;
    private readonly Optimizer _optimizer;
    private readonly float[] _hidden;

    internal TrainingResume(CharRnnModel model, TrainingOptions options, Optimizer optimizer, float[] hidden, long step, long epoch, int cursor, double smoothLoss, string? rngState)
    {
        _model = model; _optimizer = optimizer; _hidden = hidden;
        Options = options; Step = step; Epoch = epoch; Cursor = cursor; SmoothLoss = smoothLoss; RngState = rngState;
    }

    public TrainingOptions Options { get; }
    public long Step { get; }
    public long Epoch { get; }
    public int Cursor { get; }
    public double SmoothLoss { get; }

    /// <summary>The sampling RNG's state when saved (see <see cref="Rng.SaveState"/>), if any.</summary>
    public string? RngState { get; }

    /// <summary>
    /// A trainer over the loaded model that continues exactly where the saved one stopped (same text required).
    /// <paramref name="threads"/> overrides the saved thread count (results then differ in rounding only).
    /// </summary>
    public Trainer CreateTrainer(int[] tokens, int? threads = null)
    {
        var options = threads is { } t ? Options with { Threads = t } : Options;
        var trainer = new Trainer(_model, tokens, options, _optimizer);
        if (Cursor >= trainer.Data.StepsPerEpoch)
        {
            trainer.Dispose();
            throw new ArgumentException($"the checkpoint's data position (step {Cursor} of an epoch) is past the end of this text ({trainer.Data.StepsPerEpoch} steps per epoch): resume with the same input text");
        }
        trainer.Step = Step;
        trainer.Epoch = Epoch;
        trainer.Cursor = Cursor;
        trainer.SmoothLoss = SmoothLoss;
        trainer.SetState(_hidden);
        return trainer;
    }
}
