using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
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
    private const string InputKey = "cli.input", ValFracKey = "cli.val_frac";

    public static readonly Option[] Options =
    [
        new("input", "FILE", "training text, UTF-8 (default: the embedded corpus, this project's own source and README)"),
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
        new("checkpoint", "FILE", "where to save the model and training state (default charrnn.safetensors)"),
        new("checkpoint-every", "K", "also save every K steps; 0 = only at the end and on Ctrl+C (default 0)"),
        new("resume", "CKPT", "continue a run exactly from its checkpoint (same text; model and optimizer options come from the file)"),
        new("init-from", "MODEL", "start from the weights and vocabulary of any model file, with a fresh optimizer"),
        new("threads", "N", "training threads; the batch's streams are split among them (default 1; results depend on N)"),
        new("sample-every", "K", "print a sample every K steps; 0 = off (default 0)"),
        new("sample-length", "N", "characters per sample (default 300)"),
        new("json", null, "print one JSON object per line (progress, validation, result) on stdout"),
    ];

    public static string HelpText => Help.For("charrnn train [options]",
        "Trains a character-level RNN by truncated backpropagation through time and saves it as a safetensors checkpoint.\n" +
        "Ctrl+C saves a checkpoint and stops; --resume continues bit-identically.", Options,
        "Data order: step k of an epoch gives stream b the characters shard_b[k·T .. k·T+T) and the targets one further on;\n" +
        "the hidden state is carried between steps and reset at each epoch.");

    private static volatile bool _stopRequested;

    public static int Run(ParsedArguments a)
    {
        bool json = a.Has("json");
        var progress = Progress.ForStandardError();
        if (a.Has("steps") && a.Has("epochs")) throw new UsageException("give --steps or --epochs, not both");
        if (a.Has("resume") && a.Has("init-from")) throw new UsageException("give --resume or --init-from, not both");

        LoadedCheckpoint? resumed = a.String("resume") is { } resumePath ? Inputs.LoadModel(resumePath) : null;
        if (resumed is not null)
        {
            if (resumed.Training is null) throw new CommandError($"'{a.String("resume")}' holds a model but no training state: use --init-from to start a new run from its weights");
            foreach (var fixedOption in new[] { "hidden", "seq-len", "batch", "optimizer", "lr", "beta1", "beta2", "eps", "clip", "clip-norm", "lr-decay", "lr-decay-every", "init", "init-bias", "relu", "seed", "lines", "val-frac" })
                if (a.Has(fixedOption)) throw new UsageException($"--{fixedOption} cannot change on --resume: it is fixed by the checkpoint");
        }
        LoadedCheckpoint? initial = a.String("init-from") is { } initPath ? Inputs.LoadModel(initPath) : null;

        // the text, and the model's vocabulary and mode
        string? inputPath = a.String("input") ?? (resumed?.Metadata.TryGetValue(InputKey, out var saved) == true && saved != "(embedded)" ? saved : null);
        string text = inputPath is null ? Inputs.DefaultCorpus() : Inputs.ReadText(inputPath, a.Has("replace-invalid"));
        bool lines = resumed?.Model.SequenceMode ?? initial?.Model.SequenceMode ?? a.Has("lines");
        if (initial is not null && a.Has("lines") != initial.Model.SequenceMode)
            throw new UsageException(initial.Model.SequenceMode ? "the --init-from model is a lines model: add --lines" : "the --init-from model is not a lines model: drop --lines");
        if (lines) text = Inputs.FrameLines(text);
        var vocabulary = resumed?.Model.Vocabulary ?? initial?.Model.Vocabulary ?? Vocabulary.FromText(text);
        int[] tokens = Inputs.Encode(vocabulary, text, resumed is not null || initial is not null ? "the training text does not fit the model" : "the training text");

        double valFrac = resumed is not null
            ? double.Parse(resumed.Metadata.GetValueOrDefault(ValFracKey, "0"), CultureInfo.InvariantCulture)
            : a.Double("val-frac", 0.05, 0, 0.5);
        int boundary = lines && vocabulary.TryGetId(new System.Text.Rune('\n'), out int newline) ? newline : -1;
        var (trainTokens, valTokens) = Split(tokens, valFrac, boundary);

        // trainer: resumed, or new options over a new or given model
        Trainer trainer;
        ulong seed;
        try
        {
            if (resumed is not null)
            {
                trainer = resumed.Training!.CreateTrainer(trainTokens, a.Has("threads") ? ThreadCount.Read(a) : null);
                seed = resumed.Training.Options.Seed;
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
            var sampleRng = resumed?.Training?.RngState is { } state ? Rng.FromState(state) : new Rng(seed ^ 0x5DEECE66DUL);
            long total = a.Has("epochs") ? checked(a.Long("epochs", 1, 1) * trainer.Data.StepsPerEpoch) : a.Long("steps", 10000, 1);
            string checkpointPath = a.String("checkpoint", "charrnn.safetensors");
            int evalEvery = a.Int("eval-every", 500, 0), printEvery = a.Int("print-every", 100, 1), checkpointEvery = a.Int("checkpoint-every", 0, 0);
            int sampleEvery = a.Int("sample-every", 0, 0), sampleLength = a.Int("sample-length", 300, 1);
            var extra = new Dictionary<string, string>
            {
                [InputKey] = inputPath is null ? "(embedded)" : Path.GetFullPath(inputPath),
                [ValFracKey] = valFrac.ToString("R", CultureInfo.InvariantCulture),
            };
            var model = trainer.Model;
            var o = trainer.Options;
            if (!json)
                progress.Line($"charrnn train: {text.Length:N0} characters ({trainTokens.Length:N0} train, {valTokens.Length:N0} validation), vocabulary {vocabulary.Count}, " +
                    $"hidden {model.HiddenSize}, T {o.SequenceLength}, B {o.BatchSize}, {o.Optimizer.ToString().ToLowerInvariant()} lr {o.LearningRate.ToString(CultureInfo.InvariantCulture)}, " +
                    $"{trainer.Threads} thread(s), kernels {trainer.Policy}" +
                    (trainer.Step > 0 ? $"; resuming at step {trainer.Step}" : ""));

            void Save()
            {
                try { Checkpoint.Save(checkpointPath, model, trainer, extra, sampleRng.SaveState()); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new CommandError($"cannot write checkpoint '{checkpointPath}': {e.Message}"); }
            }

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
                        if (!json) progress.Line($"step {step}: checkpoint saved to {checkpointPath}");
                    }
                    if (sampleEvery > 0 && step % sampleEvery == 0 && !json)
                        progress.Line($"--- sample at step {step} ---\n{Sample(model, sampleRng.NextUInt64(), sampleLength)}\n---");
                }
            }
            catch (NonFiniteTrainingException e)
            {
                progress.Finish();
                throw new CommandError($"{e.Message}. Training stopped; {(File.Exists(checkpointPath) ? $"the last good checkpoint '{checkpointPath}' is unchanged" : "no checkpoint was written")}");
            }
            progress.Finish();

            Save();
            if (_stopRequested)
            {
                if (json) JsonLine.Write(w => { w.WriteString("event", "interrupted"); w.WriteNumber("step", trainer.Step); w.WriteString("checkpoint", checkpointPath); });
                else progress.Line($"interrupted at step {trainer.Step}: checkpoint saved to {checkpointPath} (continue with --resume {checkpointPath})");
                return 130;
            }
            var validation = Validate(trainer.Model, valTokens, trainer.Step, json, progress);
            if (json)
                JsonLine.Write(w =>
                {
                    w.WriteString("event", "done"); w.WriteNumber("step", trainer.Step); w.WriteNumber("smooth_loss", trainer.SmoothLoss);
                    if (validation is { } v) w.WriteNumber("val_bits_per_char", v.BitsPerChar);
                    w.WriteNumber("seconds", clock.Elapsed.TotalSeconds); w.WriteString("checkpoint", checkpointPath);
                });
            else
            {
                progress.Line($"done: {trainer.Step} steps in {clock.Elapsed.TotalSeconds:F1} s, smoothed loss {trainer.SmoothLoss:F4} nats/char; saved {checkpointPath}");
                Console.Out.WriteLine(Sample(model, sampleRng.NextUInt64(), sampleLength));
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

    private static TrainingOptions ReadOptions(ParsedArguments a)
    {
        var optimizer = a.String("optimizer", "adam").ToLowerInvariant() switch
        {
            "sgd" => OptimizerKind.Sgd,
            "adagrad" => OptimizerKind.Adagrad,
            "adam" => OptimizerKind.Adam,
            var other => throw new UsageException($"--optimizer must be sgd, adagrad or adam, got '{other}'"),
        };
        InitScheme Scheme(string name, string fallback)
        {
            try { return InitScheme.Parse(a.String(name, fallback)); }
            catch (FormatException e) { throw new UsageException($"--{name}: {e.Message}"); }
        }
        return new TrainingOptions
        {
            SequenceLength = a.Int("seq-len", 25, 1, 100_000),
            BatchSize = a.Int("batch", 16, 1, 100_000),
            Optimizer = optimizer,
            LearningRate = a.Double("lr", optimizer == OptimizerKind.Adam ? 0.002 : 0.1, 0, double.MaxValue, minExclusive: true),
            Beta1 = a.Double("beta1", 0.9, 0, 0.999999),
            Beta2 = a.Double("beta2", 0.999, 0, 0.99999999),
            Epsilon = a.Double("eps", 1e-8, 0, 1, minExclusive: true),
            ClipValue = a.Double("clip", 5, 0),
            ClipNorm = a.Double("clip-norm", 0, 0),
            LearningRateDecay = a.Double("lr-decay", 1, 0, 1, minExclusive: true),
            DecayEvery = a.Int("lr-decay-every", 1000, 1),
            WeightInit = Scheme("init", "normal:0.01"),
            BiasInit = Scheme("init-bias", "zero"),
            Seed = a.ULong("seed", 1),
            Threads = ThreadCount.Read(a),
        };
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
        using var generator = new Generator(new InferenceModel(model));
        return generator.Sample(seed, length, new SamplingOptions(0.8));
    }
}
