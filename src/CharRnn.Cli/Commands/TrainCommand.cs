using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using CharRnn.Cli.Arguments;
using CharRnn.Cli.Output;
using CharRnn.Fast.Inference;
using CharRnn.Fast.IO;
using CharRnn.Fast.Kernels;
using CharRnn.Fast.Model;
using CharRnn.Fast.Text;
using CharRnn.Fast.Training;

namespace CharRnn.Cli.Commands;

/// <summary><c>charrnn train</c>: truncated-BPTT training with progress, validation, checkpoints and exact resume.</summary>
internal static class TrainCommand
{
    private const string InputKey = "cli.input", ValFracKey = "cli.val_frac", EmbeddedInput = "(embedded)", StandardInput = "(stdin)";

    public static readonly Option[] Options =
    [
        new("input", "FILE", "training text, UTF-8; - reads standard input (default: the embedded corpus, this project's source and README)"),
        new("lines", null, "sequence mode: one example per line, each framed by \\n; the hidden state restarts at every line"),
        new("replace-invalid", null, "replace invalid UTF-8 in the input with U+FFFD instead of stopping"),
        new("hidden", "H", "hidden units (default 128)"),
        new("seq-len", "T", "characters per truncated-BPTT chunk (default 25)"),
        new("batch", "B", "parallel streams: the text is cut into B contiguous shards (default 16)"),
        new("steps", "N", "total optimizer steps of the run, counting steps before a --resume (default 10000)"),
        new("epochs", "E", "train E passes over the text instead of --steps"),
        new("optimizer", "NAME", "sgd, adagrad or adam (default adam)"),
        new("lr", "X", "learning rate (default 0.002 for adam, 0.1 for adagrad and sgd)"),
        new("beta1", "X", "Adam β1 (default 0.9)"),
        new("beta2", "X", "Adam β2 (default 0.999)"),
        new("eps", "X", "Adam / Adagrad ε (default 1e-8)"),
        new("clip", "C", "clip every gradient element to [-C, C]; 0 = off (default 5)"),
        new("clip-norm", "C", "scale the whole gradient to norm ≤ C; 0 = off (default 0)"),
        new("lr-decay", "F", "multiply the learning rate by F every --lr-decay-every steps (default 1 = none)"),
        new("lr-decay-every", "N", "steps between learning-rate decays (default 1000)"),
        new("init", "SCHEME", "weights: normal:SIGMA, xavier (N(0, 1/fan_in)) or uniform:A (default normal:0.01)"),
        new("init-bias", "SCHEME", "biases: zero, normal:SIGMA or uniform:A (default zero)"),
        new("relu", null, "relu hidden units instead of tanh"),
        new("seed", "S", "seed of initialisation and sampling (default 1)"),
        new("val-frac", "F", "hold out the last fraction F of the text for validation; 0 = none (default 0.05)"),
        new("eval-every", "K", "report validation bits/char every K steps; 0 = only at the end (default 500)"),
        new("print-every", "K", "steps between progress lines when stderr is not a terminal, and between --json reports (default 100)"),
        new("checkpoint", "FILE", "where to save the model and training state (default: the --resume file, else charrnn.safetensors)"),
        new("checkpoint-every", "K", "also save every K steps; 0 = only at the end and on Ctrl+C (default 0)"),
        new("resume", "CKPT", "continue a run exactly from its checkpoint: same text (checked), options from the file (repeating one with its value is fine)"),
        new("init-from", "MODEL", "start from the weights and vocabulary of any model file, with a fresh optimizer"),
        new("threads", "N", "training threads; the batch's streams are split among them (default 1; results depend on N)"),
        new("sample-every", "K", "print a sample every K steps; 0 = off (default 0)"),
        new("sample-length", "N", "characters per sample; 0 = no samples, not even the final one (default 300)"),
        new("json", null, "print one JSON object per line (progress, validation, result) on stdout"),
    ];

    public static string HelpText => Help.For("charrnn train [options]",
        "Trains a character-level RNN by truncated backpropagation through time and saves it as a safetensors checkpoint.\n" +
        "Ctrl+C saves a checkpoint and stops; --resume continues bit-identically.", Options,
        "Before step 1 the checkpoint is checked: its folder must be writable (with room for the file); a symlink is written\n" +
        "through to its target; a path that is not a regular file, or a file that is not a model, is never replaced; replacing\n" +
        "a model of another run is announced on stderr. Checkpoints record the text's length and SHA-256, so --resume refuses\n" +
        "another text.\n" +
        "Data order: step k of an epoch gives stream b the characters shard_b[k·T .. k·T+T) and the targets one further on;\n" +
        "the hidden state is carried between steps and reset at each epoch.");

    private static volatile bool _stopRequested;

    public static int Run(ParsedArguments a)
    {
        bool json = a.Has("json");
        var progress = Progress.ForStandardError();
        if (a.Has("steps") && a.Has("epochs")) throw new UsageException("give --steps or --epochs, not both");
        if (a.Has("resume") && a.Has("init-from")) throw new UsageException("give --resume or --init-from, not both");

        string? resumePath = a.String("resume");
        LoadedCheckpoint? resumed = resumePath is null ? null : Inputs.LoadModel(resumePath);
        var resume = resumed?.Training;
        if (resumed is not null && resume is null) throw new CommandError($"'{resumePath}' holds a model but no training state: use --init-from to start a new run from its weights");
        double valFrac = resumed is not null ? StoredValidationFraction(resumed, resumePath!) : a.Double("val-frac", 0.05, 0, 0.5);
        if (resume is not null) ResumeCheck.SameOptions(a, ReadOptions(a, resume.Options), resume, resumed!.Model, valFrac);
        LoadedCheckpoint? initial = a.String("init-from") is { } initPath ? Inputs.LoadModel(initPath) : null;

        // the text, and the model's vocabulary and mode
        string? inputPath = a.String("input") ?? StoredInput(resumed);
        string textName = inputPath is null ? "the embedded corpus" : Inputs.NameOf(inputPath);
        string text = inputPath is null ? Inputs.DefaultCorpus() : Inputs.ReadText(inputPath, a.Has("replace-invalid"));
        bool lines = resumed?.Model.SequenceMode ?? initial?.Model.SequenceMode ?? a.Has("lines");
        if (initial is not null && a.Has("lines") != initial.Model.SequenceMode)
            throw new UsageException(initial.Model.SequenceMode ? "the --init-from model is a lines model: add --lines" : "the --init-from model is not a lines model: drop --lines");
        if (lines) text = Inputs.FrameLines(text);
        var vocabulary = resumed?.Model.Vocabulary ?? initial?.Model.Vocabulary ?? Vocabulary.FromText(text);
        int[] tokens = Inputs.Encode(vocabulary, text, resumed is not null || initial is not null ? "the training text does not fit the model" : "the training text");
        string textHash = TextFingerprint.Of(text);
        var warnings = new List<string>();
        if (resume is not null && ResumeCheck.SameText(resume, resumePath!, tokens.Length, textHash, textName) is { } textWarning) warnings.Add(textWarning);

        int boundary = lines && vocabulary.TryGetId(new System.Text.Rune('\n'), out int newline) ? newline : -1;
        var (trainTokens, valTokens) = Split(tokens, valFrac, boundary);
        // counted in characters (tokens): the token at the cut, train's last target and validation's first input, once
        long trainChars = tokens.Length - valTokens.Length;

        // trainer: resumed, or new options over a new or given model
        Trainer trainer;
        ulong seed;
        try
        {
            if (resume is not null)
            {
                trainer = resume.CreateTrainer(trainTokens, a.Has("threads") ? a.Int("threads", 1, 1, 256) : null);
                seed = resume.Options.Seed;
            }
            else
            {
                var options = ReadOptions(a);
                seed = options.Seed;
                var model = initial?.Model;
                if (model is not null && a.Has("hidden") && a.Int("hidden", 0) != model.HiddenSize)
                    throw new UsageException($"--hidden {a.Int("hidden", 0)} differs from the --init-from model's {model.HiddenSize}");
                if (model is not null && a.Has("relu") != (model.Nonlinearity == Nonlinearity.Relu))
                    throw new UsageException("--relu must match the --init-from model's nonlinearity");
                model ??= Trainer.NewModel(vocabulary, a.Int("hidden", 128, 1, 65536), options, a.Has("relu") ? Nonlinearity.Relu : Nonlinearity.Tanh, lines);
                trainer = new Trainer(model, trainTokens, options);
            }
        }
        catch (ArgumentException e) { throw new CommandError(e.Message); }

        using (trainer)
        {
            var sampleRng = resume?.RngState is { } state ? Rng.FromState(state) : new Rng(seed ^ 0x5DEECE66DUL);
            long total = a.Has("epochs") ? checked(a.Long("epochs", 1, 1) * trainer.Data.StepsPerEpoch) : a.Long("steps", 10000, 1);
            // a resumed run saves back to the file it resumed from unless told otherwise
            var checkpoint = new CheckpointTarget(a.String("checkpoint") ?? resumePath ?? "charrnn.safetensors");
            string runId = resume?.RunId ?? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
            int evalEvery = a.Int("eval-every", 500, 0), printEvery = a.Int("print-every", 100, 1), checkpointEvery = a.Int("checkpoint-every", 0, 0);
            int sampleEvery = a.Int("sample-every", 0, 0), sampleLength = a.Int("sample-length", 300, 0);
            var extra = new Dictionary<string, string>
            {
                [InputKey] = inputPath is null ? EmbeddedInput : inputPath == Inputs.StandardInput ? StandardInput : Path.GetFullPath(inputPath),
                [ValFracKey] = valFrac.ToString("R", CultureInfo.InvariantCulture),
                [CheckpointKeys.RunId] = runId,
                [CheckpointKeys.TextLength] = tokens.Length.ToString(CultureInfo.InvariantCulture),
                [CheckpointKeys.TextHash] = textHash,
            };
            var model = trainer.Model;
            var o = trainer.Options;
            if (checkpoint.Prepare(model, trainer, runId, resumePath) is { } replacing) warnings.Add(replacing);

            if (!json)
                progress.Line($"charrnn train: {tokens.Length:N0} characters ({trainChars:N0} train, {valTokens.Length:N0} validation), vocabulary {vocabulary.Count}, " +
                    $"hidden {model.HiddenSize}, T {o.SequenceLength}, B {o.BatchSize}, {o.Optimizer.ToString().ToLowerInvariant()} lr {o.LearningRate.ToString(CultureInfo.InvariantCulture)}, " +
                    $"{trainer.Threads} thread(s), vector path {VectorPaths.Describe(VectorPaths.Active)}" +
                    (trainer.Step > 0 ? $"; resuming at step {trainer.Step}" : ""));
            foreach (var warning in warnings) progress.Line($"charrnn: warning: {warning}");

            void Save() => checkpoint.Save(model, trainer, extra, sampleRng.SaveState());

            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
            var clock = Stopwatch.StartNew();
            long windowStep = trainer.Step;
            double windowStart = 0, lastLive = -1;
            long charsPerStep = (long)o.SequenceLength * o.BatchSize;
            double rate = 0;
            try
            {
                while (trainer.Step < total && !_stopRequested)
                {
                    double loss = trainer.TrainStep();
                    long step = trainer.Step;
                    double now = clock.Elapsed.TotalSeconds;
                    bool report = step % printEvery == 0 || step == total;
                    if (report || (progress.Live && now - lastLive > 0.2))
                    {
                        if (now > windowStart) rate = (step - windowStep) * charsPerStep / (now - windowStart);
                        windowStep = step; windowStart = now; lastLive = now;
                        var eta = TimeSpan.FromSeconds(rate > 0 ? (total - step) * charsPerStep / rate : 0);
                        if (json && report)
                            JsonLine.Write(w => { w.WriteNumber("step", step); w.WriteNumber("loss", loss); w.WriteNumber("smooth_loss", trainer.SmoothLoss); w.WriteNumber("chars_per_s", rate); w.WriteNumber("lr", trainer.CurrentLearningRate); });
                        else if (!json && (progress.Live || report))
                            progress.Report(step, total, loss, trainer.SmoothLoss, rate, eta);
                    }
                    if (evalEvery > 0 && step % evalEvery == 0 && step < total) Validate(trainer.Model, valTokens, step, json, progress);
                    if (checkpointEvery > 0 && step % checkpointEvery == 0 && step < total)
                    {
                        Save();
                        if (!json) progress.Line($"step {step}: checkpoint saved to {checkpoint.Path}");
                    }
                    if (sampleEvery > 0 && sampleLength > 0 && step % sampleEvery == 0 && !json)
                        progress.Line($"--- sample at step {step} ---\n{Sample(model, sampleRng.NextUInt64(), sampleLength)}\n---");
                }
            }
            catch (NonFiniteTrainingException e)
            {
                progress.Finish();
                string kept = checkpoint.LastWrittenStep is null && resume is not null ? $" ('{resumePath}', step {resume.Step}, is unchanged)" : "";
                throw new CommandError($"{e.Message}. Training stopped; {checkpoint.DescribeWritten()}{kept}");
            }
            progress.Finish();

            Save();
            if (_stopRequested)
            {
                if (json) JsonLine.Write(w => { w.WriteString("event", "interrupted"); w.WriteNumber("step", trainer.Step); w.WriteString("checkpoint", checkpoint.Path); });
                else progress.Line($"interrupted at step {trainer.Step}: checkpoint saved to {checkpoint.Path} (continue with --resume {checkpoint.Path})");
                return 130;
            }
            var validation = Validate(trainer.Model, valTokens, trainer.Step, json, progress);
            if (json)
                JsonLine.Write(w =>
                {
                    w.WriteString("event", "done"); w.WriteNumber("step", trainer.Step); w.WriteNumber("smooth_loss", trainer.SmoothLoss);
                    if (validation is { } v) w.WriteNumber("val_bits_per_char", v.BitsPerChar);
                    w.WriteNumber("seconds", clock.Elapsed.TotalSeconds); w.WriteString("checkpoint", checkpoint.Path);
                });
            else
            {
                progress.Line($"done: {trainer.Step} steps in {clock.Elapsed.TotalSeconds:F1} s, smoothed loss {trainer.SmoothLoss:F4} nats/char; saved {checkpoint.Path}");
                if (sampleLength > 0) Console.Out.WriteLine(Sample(model, sampleRng.NextUInt64(), sampleLength));
            }
            return 0;
        }
    }

    private static void OnSignal(PosixSignalContext context)
    {
        if (_stopRequested) return; // a second Ctrl+C ends the process at once
        _stopRequested = true;
        context.Cancel = true;
    }

    /// <summary>The options the flags give; absent flags take the CLI's defaults, or <paramref name="stored"/>'s values.</summary>
    private static TrainingOptions ReadOptions(ParsedArguments a, TrainingOptions? stored = null)
    {
        var optimizer = a.String("optimizer")?.ToLowerInvariant() switch
        {
            null => stored?.Optimizer ?? OptimizerKind.Adam,
            "sgd" => OptimizerKind.Sgd,
            "adagrad" => OptimizerKind.Adagrad,
            "adam" => OptimizerKind.Adam,
            var other => throw new UsageException($"--optimizer must be sgd, adagrad or adam, got '{other}'"),
        };
        var d = stored ?? new TrainingOptions { SequenceLength = 25, BatchSize = 16, Optimizer = optimizer, LearningRate = optimizer == OptimizerKind.Adam ? 0.002 : 0.1 };
        InitScheme Scheme(string name, InitScheme fallback)
        {
            try { return a.String(name) is { } text ? InitScheme.Parse(text) : fallback; }
            catch (FormatException e) { throw new UsageException($"--{name}: {e.Message}"); }
        }
        return new TrainingOptions
        {
            SequenceLength = a.Int("seq-len", d.SequenceLength, 1, 100_000),
            BatchSize = a.Int("batch", d.BatchSize, 1, 100_000),
            Optimizer = optimizer,
            LearningRate = a.Double("lr", d.LearningRate, 0, double.MaxValue, minExclusive: true),
            Beta1 = a.Double("beta1", d.Beta1, 0, 0.999999),
            Beta2 = a.Double("beta2", d.Beta2, 0, 0.99999999),
            Epsilon = a.Double("eps", d.Epsilon, 0, 1, minExclusive: true),
            ClipValue = a.Double("clip", d.ClipValue, 0),
            ClipNorm = a.Double("clip-norm", d.ClipNorm, 0),
            LearningRateDecay = a.Double("lr-decay", d.LearningRateDecay, 0, 1, minExclusive: true),
            DecayEvery = a.Int("lr-decay-every", d.DecayEvery, 1),
            WeightInit = Scheme("init", d.WeightInit),
            BiasInit = Scheme("init-bias", d.BiasInit),
            Seed = a.ULong("seed", d.Seed),
            Threads = a.Int("threads", d.Threads, 1, 256),
        };
    }

    /// <summary>The resumed run's input file, or null for the embedded corpus.</summary>
    private static string? StoredInput(LoadedCheckpoint? resumed)
    {
        var stored = resumed?.Metadata.GetValueOrDefault(InputKey);
        if (stored == StandardInput) throw new UsageException("the run read its text from standard input: give it again with --input -");
        return stored is null or EmbeddedInput ? null : stored;
    }

    /// <summary>The resumed run's <c>--val-frac</c> (0 in checkpoints that predate it).</summary>
    private static double StoredValidationFraction(LoadedCheckpoint resumed, string path)
    {
        if (!resumed.Metadata.TryGetValue(ValFracKey, out var text)) return 0;
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double f) && f is >= 0 and <= 0.5 ? f
            : throw new CommandError($"'{path}' is not a valid checkpoint: metadata \"{ValFracKey}\" is '{text}', not a number in 0..0.5");
    }

    /// <summary>Train on the head, validate on the tail; a lines corpus is cut at a line boundary.</summary>
    private static (int[] Train, int[] Validation) Split(int[] tokens, double fraction, int boundary)
    {
        if (fraction <= 0) return (tokens, []);
        int cut = (int)(tokens.Length * (1 - fraction));
        if (boundary >= 0) while (cut < tokens.Length - 1 && tokens[cut] != boundary) cut++;
        if (tokens.Length - cut < 2) return (tokens, []);
        return (tokens[..(cut + 1)], tokens[cut..]);
    }

    private static Evaluation? Validate(CharRnnModel model, int[] tokens, long step, bool json, Progress progress)
    {
        if (tokens.Length < 2) return null;
        var e = Evaluator.Evaluate(model, tokens);
        if (json) JsonLine.Write(w => { w.WriteNumber("step", step); w.WriteNumber("val_bits_per_char", e.BitsPerChar); w.WriteNumber("val_nats_per_char", e.NatsPerChar); });
        else progress.Line($"step {step}: validation {e.BitsPerChar:F4} bits/char ({e.NatsPerChar:F4} nats, perplexity {e.Perplexity:F2})");
        return e;
    }

    private static string Sample(CharRnnModel model, ulong seed, int length)
    {
        var generator = new Generator(new InferenceModel(model), seed);
        var ids = new List<int>(length);
        if (model.SequenceMode) generator.Feed(model.BoundaryToken);
        for (int i = 0; i < length; i++) ids.Add(generator.Next(new SamplingOptions(0.8)));
        return model.Vocabulary.Decode(ids.ToArray());
    }
}
