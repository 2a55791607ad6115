using System.Globalization;
using CharRnn.Fast.Data;
using CharRnn.Fast.Model;
using CharRnn.Fast.Text;
using CharRnn.Fast.Training;

namespace CharRnn.Fast.IO;

/// <summary>
/// Models and training state as safetensors files (see README, "Checkpoint format"). Format 2 stores the weights under
/// PyTorch's state_dict names and layouts (<see cref="ModelTensors"/>: <c>nn.RNN/LSTM/GRU</c> as <c>rnn</c>,
/// <c>nn.Linear</c> as <c>fc</c>), the optimizer's moments as extra tensors of the same shapes ("adam.m.fc.weight", …),
/// everything else in string metadata; format-1 files (min-char-rnn's Wxh, Whh, bh, Why, by) still load. Writes are
/// atomic. A file with only the weights and a "vocab" entry is a valid model, whoever wrote it.
/// </summary>
public static class Checkpoint
{
    /// <summary>
    /// Writes <paramref name="model"/> (and, if given, everything <paramref name="trainer"/> needs to resume exactly) to
    /// <paramref name="path"/>, atomically. <paramref name="extraMetadata"/> entries are stored as given.
    /// </summary>
    public static void Save(string path, CharRnnModel model, Trainer? trainer = null, IReadOnlyDictionary<string, string>? extraMetadata = null, string? rngState = null)
        => Save(path, model, trainer, extraMetadata, rngState, WeightFormat.F32);

    /// <summary>
    /// Writes <paramref name="model"/> as a compact model file: the weights generation streams as <paramref name="weights"/>
    /// (see <see cref="WeightFormat"/>), metadata <c>weights</c> naming it. A compact file holds no training state.
    /// </summary>
    public static void SaveCompact(string path, CharRnnModel model, WeightFormat weights, IReadOnlyDictionary<string, string>? extraMetadata = null)
        => Save(path, model, null, extraMetadata, null, weights);

    private static void Save(string path, CharRnnModel model, Trainer? trainer, IReadOnlyDictionary<string, string>? extraMetadata, string? rngState, WeightFormat weights)
    {
        ArgumentNullException.ThrowIfNull(model);
        // never write a file the loader refuses (it would replace a good one)
        if (!model.Parameters.AllFinite()) throw new ArgumentException("the weights contain NaN or infinite values: a model file of them could not be loaded", nameof(model));
        if (trainer?.Optimizer is { } moments && (moments.FirstMoment?.AllFinite() == false || moments.SecondMoment?.AllFinite() == false))
            throw new ArgumentException("the optimizer's state contains NaN or infinite values: a checkpoint of it could not be loaded", nameof(trainer));
        var metadata = new Dictionary<string, string>();
        if (extraMetadata is not null) foreach (var (k, v) in extraMetadata) metadata[k] = v;
        metadata[CheckpointKeys.Format] = CheckpointKeys.FormatTag;
        metadata[CheckpointKeys.Vocabulary] = model.Vocabulary.ToJson();
        metadata[CheckpointKeys.HiddenSize] = Invariant(model.HiddenSize);
        metadata[CheckpointKeys.Nonlinearity] = model.Nonlinearity == Nonlinearity.Relu ? "relu" : "tanh";
        metadata[CheckpointKeys.Mode] = model.SequenceMode ? "lines" : "stream";
        metadata[CheckpointKeys.Cell] = model.Cell.Name();
        metadata[CheckpointKeys.Layers] = Invariant(model.Layers);
        // the training run's dropout; a copy without a trainer (quantize) keeps the one its metadata carries
        if (trainer is not null || !metadata.ContainsKey(CheckpointKeys.Dropout)) metadata[CheckpointKeys.Dropout] = Invariant(trainer?.Options.Dropout ?? 0);

        if (weights != WeightFormat.F32) metadata[CheckpointKeys.Weights] = weights.Name();
        var tensors = new List<SafetensorsTensor>();
        ModelTensors.Add(tensors, model.Parameters, prefix: null, weights switch { WeightFormat.Bf16 => "BF16", WeightFormat.Int8 => "I8", _ => "F32" });
        if (trainer is not null)
        {
            var o = trainer.Options;
            metadata[CheckpointKeys.Optimizer] = OptimizerName(o.Optimizer);
            metadata[CheckpointKeys.LearningRate] = Invariant(o.LearningRate);
            metadata[CheckpointKeys.Beta1] = Invariant(o.Beta1);
            metadata[CheckpointKeys.Beta2] = Invariant(o.Beta2);
            metadata[CheckpointKeys.Epsilon] = Invariant(o.Epsilon);
            metadata[CheckpointKeys.Alpha] = Invariant(o.Alpha);
            metadata[CheckpointKeys.ForgetBias] = Invariant(o.ForgetBias);
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
            // the carried state as PyTorch's h_n [L,B,H] (and c_n for an LSTM)
            var state = TrainingState(trainer);
            int slice = model.Layers * o.BatchSize * model.HiddenSize;
            tensors.Add(new SafetensorsTensor(CheckpointKeys.TrainHidden, [model.Layers, o.BatchSize, model.HiddenSize], state[..slice]));
            if (model.Cell.HasCellState()) tensors.Add(new SafetensorsTensor(CheckpointKeys.TrainCell, [model.Layers, o.BatchSize, model.HiddenSize], state[slice..]));
            var (first, second) = MomentPrefixes(o.Optimizer);
            if (first is not null) ModelTensors.Add(tensors, trainer.Optimizer.FirstMoment!, first);
            if (second is not null) ModelTensors.Add(tensors, trainer.Optimizer.SecondMoment!, second);
        }
        SafetensorsWriter.Write(path, tensors, metadata);
    }

    /// <summary>
    /// Checks, before a long run, that a checkpoint of <paramref name="model"/> (and <paramref name="trainer"/>'s state)
    /// can be written to <paramref name="path"/>: see <see cref="SafetensorsWriter.CheckWritable"/>, with the file's size
    /// allocated so a disk without room for it shows at once.
    /// </summary>
    public static void CheckWritable(string path, CharRnnModel model, Trainer? trainer = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        // the parameters, plus the zero bias_hh of every layer that format 2 writes beside them
        var shape = model.Parameters.Shape;
        long weights = model.Parameters.All.Length + (long)shape.Layers * shape.GateWidth, floats = weights;
        if (trainer is not null)
        {
            var (first, second) = MomentPrefixes(trainer.Options.Optimizer);
            floats += trainer.StateSize + (first is null ? 0 : weights) + (second is null ? 0 : weights);
        }
        long header = 4096 + 16L * model.VocabularySize; // metadata, tensor entries, the vocabulary as JSON
        SafetensorsWriter.CheckWritable(path, floats * sizeof(float) + header);
    }

    /// <summary>Reads a model (and training state, if present) from <paramref name="path"/>. Throws <see cref="CheckpointFormatException"/> for any problem with the file.</summary>
    public static LoadedCheckpoint Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path)) throw new IOException($"'{path}' is a directory, not a model file");
        if (!File.Exists(path)) throw new FileNotFoundException($"model file '{path}' does not exist", path);
        return FromContents(SafetensorsReader.Read(path), path);
    }

    /// <summary>Reads a model from the bytes of a safetensors file (e.g. embedded in an app).</summary>
    public static LoadedCheckpoint Load(ReadOnlySpan<byte> bytes) => FromContents(SafetensorsReader.Read(bytes), "the model buffer");

    private static LoadedCheckpoint FromContents(SafetensorsContents file, string source)
    {
        var meta = file.Metadata;
        if (meta.TryGetValue(CheckpointKeys.Format, out var format) && format != CheckpointKeys.FormatTag && format != CheckpointKeys.Format1Tag)
            throw new CheckpointFormatException(CheckpointKeys.IsLaterFormat(format)
                ? $"{source}: written by a newer version (format '{format}'; this version reads '{CheckpointKeys.FormatTag}'): upgrade charrnn to read it"
                : $"{source}: unknown format '{format}' (this version reads '{CheckpointKeys.FormatTag}')");
        if (!meta.TryGetValue(CheckpointKeys.Vocabulary, out var vocabJson))
            throw new CheckpointFormatException($"{source}: the metadata has no \"{CheckpointKeys.Vocabulary}\" entry (a JSON array of the vocabulary's characters in id order)");
        Vocabulary vocabulary;
        try { vocabulary = Vocabulary.FromJson(vocabJson); }
        catch (FormatException e) { throw new CheckpointFormatException($"{source}: bad \"{CheckpointKeys.Vocabulary}\": {e.Message}"); }

        var shape = ModelTensors.Shape(file, vocabulary.Count, source);
        var nonlinearity = meta.GetValueOrDefault(CheckpointKeys.Nonlinearity, "tanh") switch
        {
            "tanh" => Nonlinearity.Tanh,
            "relu" => Nonlinearity.Relu,
            var other => throw new CheckpointFormatException($"{source}: nonlinearity '{other}' is not tanh or relu"),
        };
        if (nonlinearity == Nonlinearity.Relu && shape.Cell != CellKind.Rnn)
            throw new CheckpointFormatException($"{source}: nonlinearity 'relu' is a vanilla (rnn) layer's; {shape.Cell.Name()} cells have fixed nonlinearities");
        if (meta.TryGetValue(CheckpointKeys.Dropout, out var dropout)
            && !(double.TryParse(dropout, NumberStyles.Float, CultureInfo.InvariantCulture, out double p) && p >= 0 && p < 1))
            throw new CheckpointFormatException($"{source}: metadata \"{CheckpointKeys.Dropout}\" is '{dropout}', not a probability in [0, 1)");
        bool lines = meta.GetValueOrDefault(CheckpointKeys.Mode, "stream") switch
        {
            "stream" => false,
            "lines" => true,
            var other => throw new CheckpointFormatException($"{source}: mode '{other}' is not stream or lines"),
        };
        if (lines && !vocabulary.TryGetId(new System.Text.Rune('\n'), out _))
            throw new CheckpointFormatException($"{source}: a lines model's vocabulary must contain \\n");

        var parameters = new RnnParameters(shape);
        ModelTensors.Read(file, parameters, prefix: null, source);
        if (!parameters.AllFinite()) throw new CheckpointFormatException($"{source}: the weights contain NaN or infinite values");
        var model = new CharRnnModel(vocabulary, parameters, nonlinearity, lines);

        TrainingResume? training = null;
        if (meta.ContainsKey(CheckpointKeys.Optimizer)) training = ReadTraining(file, model, source);
        var stored = ModelTensors.StoredFormat(file, parameters);
        // as PyTorch's load_state_dict(strict=True): a tensor the model and its training state do not account for is a
        // file this version would misread (another architecture, a damaged or hand-edited file), not one to half-load
        if (file.NotAskedFor() is [var extra, ..])
            throw new CheckpointFormatException($"{source}: tensor '{extra}' is no part of a {model.Layers}-layer {model.Cell.Name()} model" +
                (training is null ? "" : " or its training state") + " (a file of another architecture, or damaged)");
        return new LoadedCheckpoint(model, meta, training) { StoredWeights = stored };
    }

    private static TrainingResume ReadTraining(SafetensorsContents file, CharRnnModel model, string source)
    {
        var meta = file.Metadata;
        var kind = meta[CheckpointKeys.Optimizer] switch
        {
            "sgd" => OptimizerKind.Sgd,
            "adagrad" => OptimizerKind.Adagrad,
            "adam" => OptimizerKind.Adam,
            "rmsprop" => OptimizerKind.RmsProp,
            var other => throw new CheckpointFormatException($"{source}: optimizer '{other}' is not sgd, adagrad, adam or rmsprop"),
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
                Alpha = meta.ContainsKey(CheckpointKeys.Alpha) ? Double(meta, CheckpointKeys.Alpha, source) : 0.95,
                Dropout = meta.ContainsKey(CheckpointKeys.Dropout) ? Double(meta, CheckpointKeys.Dropout, source) : 0,
                ForgetBias = meta.ContainsKey(CheckpointKeys.ForgetBias) ? Double(meta, CheckpointKeys.ForgetBias, source) : 0,
                ClipValue = Double(meta, CheckpointKeys.Clip, source),
                ClipNorm = Double(meta, CheckpointKeys.ClipNorm, source),
                LearningRateDecay = Double(meta, CheckpointKeys.LearningRateDecay, source),
                DecayEvery = Int(meta, CheckpointKeys.DecayEvery, source),
                SequenceLength = Int(meta, CheckpointKeys.SequenceLength, source),
                BatchSize = Int(meta, CheckpointKeys.BatchSize, source),
                Threads = Int(meta, CheckpointKeys.Threads, source),
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
        // Adagrad's memory, RMSprop's mean square and Adam's v are sums and means of squares: the update takes their square root
        if (first is not null) ReadMoments(file, optimizer.FirstMoment!, first, nonNegative: kind is OptimizerKind.Adagrad or OptimizerKind.RmsProp, source);
        if (second is not null) ReadMoments(file, optimizer.SecondMoment!, second, nonNegative: true, source);

        var state = ReadState(file, model, options.BatchSize, source);

        string? rngState = meta.GetValueOrDefault(CheckpointKeys.RngState);
        if (rngState is not null)
        {
            try { Rng.FromState(rngState); }
            catch (FormatException) { throw new CheckpointFormatException($"{source}: metadata \"{CheckpointKeys.RngState}\" is '{rngState}', not 64 hexadecimal digits"); }
        }
        string? textHash = meta.GetValueOrDefault(CheckpointKeys.TextHash);
        if (textHash is not null && !TextFingerprint.IsWellFormed(textHash))
            throw new CheckpointFormatException($"{source}: metadata \"{CheckpointKeys.TextHash}\" is '{textHash}', not {TextFingerprint.Prefix} and 64 lowercase hexadecimal digits");
        return new TrainingResume(model, options, optimizer, state,
            Long(meta, CheckpointKeys.Step, source), Long(meta, CheckpointKeys.Epoch, source), Int(meta, CheckpointKeys.Cursor, source),
            Double(meta, CheckpointKeys.SmoothLoss, source), rngState)
        {
            RunId = meta.GetValueOrDefault(CheckpointKeys.RunId),
            TextLength = meta.ContainsKey(CheckpointKeys.TextLength) ? Long(meta, CheckpointKeys.TextLength, source) : null,
            TextHash = textHash,
        };
    }

    private static void ReadMoments(SafetensorsContents file, RnnParameters moments, string prefix, bool nonNegative, string source)
    {
        ModelTensors.Read(file, moments, prefix, source);
        foreach (var tensor in moments.Table.Tensors)
            foreach (float x in moments[tensor])
            {
                if (!float.IsFinite(x)) throw new CheckpointFormatException($"{source}: optimizer state '{prefix}.{tensor.Name}' contains NaN or infinite values");
                if (nonNegative && x < 0) throw new CheckpointFormatException($"{source}: optimizer state '{prefix}.{tensor.Name}' has negative values (it holds squares)");
            }
    }

    /// <summary>The carried state, h [L,B,H] then c [L,B,H] for an LSTM, from train.hidden (format 1: [B,H]) and train.cell.</summary>
    private static float[] ReadState(SafetensorsContents file, CharRnnModel model, int batch, string source)
    {
        int l = model.Layers, h = model.HiddenSize;
        var state = new float[model.Parameters.Shape.StateSize(batch)];
        string origins = $"L = {l}, from the weights; B = {batch}, from \"{CheckpointKeys.BatchSize}\"; H = {h}, from the weights";
        var hidden = file.Get(CheckpointKeys.TrainHidden);
        bool format1 = l == 1 && hidden.Shape.Length == 2 && hidden.Shape[0] == batch && hidden.Shape[1] == h;
        if (!format1 && !hidden.Shape.AsSpan().SequenceEqual([l, batch, h]))
            throw new CheckpointFormatException($"{source}: tensor '{CheckpointKeys.TrainHidden}' is {ShapeText(hidden.Shape)} but must be [L,B,H] = [{l},{batch},{h}] ({origins})");
        hidden.Data.CopyTo(state, 0);
        if (model.Cell.HasCellState())
        {
            var cell = file.Get(CheckpointKeys.TrainCell);
            if (!cell.Shape.AsSpan().SequenceEqual([l, batch, h]))
                throw new CheckpointFormatException($"{source}: tensor '{CheckpointKeys.TrainCell}' is {ShapeText(cell.Shape)} but must be [L,B,H] = [{l},{batch},{h}] ({origins})");
            cell.Data.CopyTo(state, hidden.Data.Length);
        }
        if (!AllFinite(state)) throw new CheckpointFormatException($"{source}: the carried state ('{CheckpointKeys.TrainHidden}'{(model.Cell.HasCellState() ? $", '{CheckpointKeys.TrainCell}'" : "")}) contains NaN or infinite values");
        return state;
    }

    private static bool AllFinite(float[] values)
    {
        foreach (float x in values) if (!float.IsFinite(x)) return false;
        return true;
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
        OptimizerKind.RmsProp => ("rmsprop.ms", null),
        _ => (null, null),
    };

    private static string OptimizerName(OptimizerKind kind) => kind switch
    {
        OptimizerKind.Sgd => "sgd",
        OptimizerKind.Adagrad => "adagrad",
        OptimizerKind.RmsProp => "rmsprop",
        _ => "adam",
    };

    private static string ShapeText(int[] shape) => "[" + string.Join(",", shape) + "]";
    private static string Invariant(double x) => x.ToString("R", CultureInfo.InvariantCulture);
    private static string Invariant(long x) => x.ToString(CultureInfo.InvariantCulture);

    private static double Double(IReadOnlyDictionary<string, string> meta, string key, string source)
        => meta.TryGetValue(key, out var s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && double.IsFinite(x) ? x
            : throw new CheckpointFormatException($"{source}: metadata \"{key}\" is missing or not a number");

    private static int Int(IReadOnlyDictionary<string, string> meta, string key, string source)
        => Long(meta, key, source) is var x && x <= int.MaxValue ? (int)x
            : throw new CheckpointFormatException($"{source}: metadata \"{key}\" is {x}, larger than {int.MaxValue}");

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

    /// <summary>
    /// The format the file holds the weights generation streams in (int8 if any is I8, else bf16 if any is BF16, else
    /// f32): the format to generate with unless the caller chooses another (<see cref="Inference.InferenceModel"/>).
    /// </summary>
    public WeightFormat StoredWeights { get; init; }
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

    /// <summary>The run's id (<see cref="CheckpointKeys.RunId"/>), if the writer recorded one.</summary>
    public string? RunId { get; init; }

    /// <summary>Tokens of the text the run trains on (<see cref="CheckpointKeys.TextLength"/>), if recorded.</summary>
    public long? TextLength { get; init; }

    /// <summary>That text's <see cref="TextFingerprint"/>, if recorded.</summary>
    public string? TextHash { get; init; }

    /// <summary>
    /// A trainer over the loaded model that continues exactly where the saved one stopped (same text required).
    /// <paramref name="threads"/> overrides the saved thread count (results then differ in rounding only).
    /// </summary>
    public Trainer CreateTrainer(int[] tokens, int? threads = null)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        return CreateTrainer(new ArrayTokenSource(tokens, _model.VocabularySize), threads);
    }

    /// <summary>As above, reading the text through <paramref name="tokens"/>.</summary>
    public Trainer CreateTrainer(ITokenSource tokens, int? threads = null)
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
