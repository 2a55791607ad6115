using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using CharRnn.Cli.Arguments;
using CharRnn.Cli.Output;
using CharRnn.Fast.Data;
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
    private const string InputKey = "cli.input", ValFracKey = "cli.val_frac", TestFracKey = "cli.test_frac", EmbeddedInput = "(embedded)", StandardInput = "(stdin)";
    // the validation sample (characters per stream, or "full") and the passes' interval: a resumed run validates on the
    // same sample, so its passes compare with the checkpoint's best, and keeps the interval unless given another
    private const string ValidationLengthKey = "cli.validation_length", EvalEveryKey = "cli.eval_every", FullValidation = "full";
    private const string PatienceKey = "cli.patience", KeepBestKey = "cli.keep_best", SampleEveryKey = "cli.sample_every", SampleLengthKey = "cli.sample_length";
    private const string ReplaceInvalidKey = "cli.replace_invalid"; // "1": the run's text had its invalid UTF-8 replaced (--replace-invalid)

    public static readonly Option[] Options =
    [
        new("input", "PATH", "training text: a UTF-8 file, or a directory (its files in ordinal order of their relative paths); repeat for several, concatenated in order; - reads standard input (default: the embedded corpus, this project's source)") { Repeatable = true },
        new("lines", null, "sequence mode: one example per non-empty line (a line ends at \\n, \\r\\n or a lone \\r), each framed by \\n; the hidden state restarts at every line"),
        new("replace-invalid", null, "replace invalid UTF-8 in the input with U+FFFD instead of stopping"),
        new("cell", "CELL", "rnn (Elman, tanh or --relu), lstm or gru, with PyTorch's equations (default rnn)"),
        new("layers", "L", "stacked layers, each reading the one below's hidden state: 1..64 (default 1)"),
        new("hidden", "H", "hidden units per layer (default 128)"),
        new("dropout", "P", "dropout on the output of every layer but the last, while training, as PyTorch: 0..0.95 (default 0)"),
        new("seq-len", "T", "characters per truncated-BPTT chunk (default 25)"),
        new("batch", "B", "parallel streams: the text is cut into B contiguous shards (default 16)"),
        new("steps", "N", "total optimizer steps of the run, counting steps before a --resume (default 10000)"),
        new("epochs", "E", "train E passes over the text instead of --steps"),
        new("optimizer", "NAME", "sgd, adagrad, adam or rmsprop (default adam)"),
        new("lr", "X", "learning rate (default 0.002 for adam and rmsprop, 0.1 for adagrad and sgd)"),
        new("beta1", "X", "Adam β1 (default 0.9)"),
        new("beta2", "X", "Adam β2 (default 0.999)"),
        new("eps", "X", "Adam / Adagrad / RMSprop ε (default 1e-8)"),
        new("alpha", "A", "RMSprop's decay of the mean square, char-rnn's decay_rate (default 0.95)"),
        new("clip", "C", "clip every gradient element to [-C, C]; 0 = off (default 5)"),
        new("clip-norm", "C", "scale the whole gradient to norm ≤ C; 0 = off (default 0)"),
        new("lr-decay", "F", "multiply the learning rate by F every --lr-decay-every steps (default 1 = none)"),
        new("lr-decay-every", "N", "steps between learning-rate decays (default 1000)"),
        new("init", "SCHEME", "weights: normal:SIGMA, xavier (N(0, 1/fan_in)), uniform:A or zero (default normal:0.01 for rnn, uniform:0.08 for lstm and gru)"),
        new("init-bias", "SCHEME", "biases: zero, normal:SIGMA, xavier or uniform:A (default zero)"),
        new("forget-bias", "B", "LSTM: the forget gate's bias at initialisation (default 0; torch-rnn uses 1)"),
        new("relu", null, "relu hidden units instead of tanh (rnn cells)"),
        new("seed", "S", "seed of initialisation and sampling (default 1)"),
        new("val-frac", "F", "hold out the fraction F of the text before the test range for validation; 0 = none (default 0.05)"),
        new("test-frac", "F", "hold out the last fraction F of the text for a test, reported once at the end; 0 = none (default 0)"),
        new("eval-every", "K", "report validation bits/char every K steps; 0 = only at the end (default 500; the periodic passes are the ones --keep-best and --patience compare)"),
        new("val-full", null, "validate on the whole held-out range each time, instead of the default sample (see below)"),
        new("keep-best", null, "also save the checkpoint of the best validation so far, as CKPT.best.safetensors beside --checkpoint CKPT.safetensors"),
        new("patience", "K", "stop after K periodic validations in a row without a better one; 0 = off (default 0; needs --eval-every > 0)"),
        new("log", "FILE", "append every --json record (progress, validation, test, checkpoint, sample …) to FILE, one per line; charrnn plot draws it"),
        new("print-every", "K", "steps between progress lines when stderr is not a terminal, and between --json reports (default 100)"),
        new("checkpoint", "FILE", "where to save model and training state (default: the --resume file, else charrnn.safetensors)"),
        new("checkpoint-every", "K", "also save every K steps, so a crash loses at most K; 0 = only at the end and on Ctrl+C, SIGTERM or a hang-up (default 1000, as char-rnn and torch-rnn)"),
        new("resume", "CKPT", "continue a run exactly from its checkpoint (same text, checked; options come from the file)"),
        new("init-from", "MODEL", "start from the weights and vocabulary of any model file, with a fresh optimizer"),
        new("threads", "N", "training threads; the batch's streams are split among them (default 1; results depend on N)"),
        new("sample-every", "K", "print a sample every K steps; 0 = off (default 0)"),
        new("sample-length", "N", "characters per sample; 0 = no samples, not even the final one (default 300)"),
        new("json", null, "print one JSON object per line on stdout, each with an \"event\" (see README)"),
    ];

    public static string HelpText => Help.For("charrnn train [options]",
        "Trains a character-level recurrent network (vanilla rnn, LSTM or GRU, one or more layers) by truncated\n" +
        "backpropagation through time and saves it as a safetensors checkpoint in PyTorch's own names and layouts.\n" +
        "Ctrl+C stops after the current step (a validation pass under way stops at once), saves the checkpoint and exits with\n" +
        "130; a second Ctrl+C (a quarter of a second or more after the first: a signal sent twice at once, as GNU timeout\n" +
        "sends it, counts once) quits at once without saving, unless the save has begun: that one is finished. SIGTERM does\n" +
        "what Ctrl+C does, and so does a hang-up (SIGHUP: the terminal or ssh session went away), silently. --resume\n" +
        "continues bit-identically.", Options,
        "Progress: chars/s counts the time spent in training steps only; the ETA adds the validation passes still to come,\n" +
        "each priced at the mean duration of the passes so far (before the first, from a short timed pass at the start).\n" +
        "\n" +
        CorpusText.InputOrderHelp + "\n" +
        "\n" +
        "Token store: the inputs are tokenized once into a token store beside the first (FILE.charrnn-tokens;\n" +
        "FILE.<key>.charrnn-tokens for several inputs; .lines.charrnn-tokens instead with --lines), or in\n" +
        "$XDG_CACHE_HOME/charrnn/tokens (default ~/.cache/charrnn/tokens) when that folder cannot be written. It is reused\n" +
        "while the inputs keep their sizes and last-write times and its tokens their SHA-256 (one read of the store), and\n" +
        "rebuilt, with a warning, when they change or the store is damaged; charrnn prepare builds it ahead. Standard input\n" +
        "is copied to a temporary file in $TMPDIR and tokenized into a temporary store, both removed once the store is open.\n" +
        "\n" +
        "Splits: training is the head of the text, then validation (--val-frac), then test (--test-frac), cut at line\n" +
        "boundaries with --lines. Validation reads the held-out range as B streams in the training data order, on the\n" +
        "training threads; by default each pass reads a fixed sample: the first ⌈K·T/10⌉ characters of each stream, K the\n" +
        "smaller of --eval-every and the run's total steps (with --eval-every 0: the steps of this run), a tenth of the\n" +
        "characters trained between passes (the whole range when it is shorter), forward only, so validation takes a few\n" +
        "percent of the run whatever the corpus size. --val-full reads the whole range each time. The closing pass of a run\n" +
        "that ends between two periodic ones is reported only: --keep-best and --patience compare the periodic passes, so a\n" +
        "run cut in two continues as a straight one. The test range is read whole, once, after the last step.\n" +
        "\n" +
        "Resume: a resumed run validates on the sample its checkpoint's run did (so its passes compare with that run's\n" +
        "best), keeps its --eval-every, --patience, --sample-every and --sample-length unless given others (--keep-best\n" +
        "is given again), runs first a periodic validation that a Ctrl+C cut short, and needs a total (--steps, --epochs)\n" +
        "past its step, or equal to it to finish closing steps (validation, test) that a Ctrl+C cut short.\n" +
        "\n" +
        "Checkpoint: before step 1 the folder must be writable with room for the file; a symlink is written through to its\n" +
        "target; a path that is not a regular file, or a file that is not a model, is never replaced; replacing a model of\n" +
        "another run is announced on stderr. Checkpoints record the text's length and SHA-256 (of its UTF-8, after framing,\n" +
        "kept in the token store so a resume does not read the text again): --resume refuses another text;\n" +
        "options the checkpoint fixes may be given again with the same value, not another.\n" +
        "\n" +
        "Data order: step k of an epoch gives stream b the characters shard_b[k·T .. k·T+T) and the targets one further on;\n" +
        "the hidden state is carried between steps and reset at each epoch.");

    public static int Run(ParsedArguments a)
    {
        bool json = a.Has("json");
        if (a.Has("steps") && a.Has("epochs")) throw new UsageException("give --steps or --epochs, not both");
        if (a.Has("resume") && a.Has("init-from")) throw new UsageException("give --resume or --init-from, not both");

        string? resumePath = a.String("resume");
        LoadedCheckpoint? resumed = resumePath is null ? null : Inputs.LoadModel(resumePath);
        var resume = resumed?.Training;
        if (resumed is not null && resume is null) throw new CommandError($"'{resumePath}' holds a model but no training state: use --init-from to start a new run from its weights");
        double valFrac = resumed is not null ? StoredFraction(resumed, resumePath!, ValFracKey) : a.Double("val-frac", 0.05, 0, 0.5);
        double testFrac = resumed is not null ? StoredFraction(resumed, resumePath!, TestFracKey) : a.Double("test-frac", 0, 0, 0.5);
        var resumeOptions = resume is null ? null : ReadOptions(a, resumed!.Model.Cell, resume.Options); // the flags over the checkpoint's options
        if (resume is not null) ResumeCheck.SameOptions(a, resumeOptions!, resume, resumed!.Model, valFrac, testFrac);
        LoadedCheckpoint? initial = a.String("init-from") is { } initPath ? Inputs.LoadModel(initPath) : null;
        // the run's schedule: a resumed run keeps its checkpoint's unless the flags say otherwise
        int evalEvery = Kept(a, resumed, resumePath, "eval-every", EvalEveryKey, 500);
        int patience = Kept(a, resumed, resumePath, "patience", PatienceKey, 0);
        bool keepBest = a.Has("keep-best");
        int sampleEvery = Kept(a, resumed, resumePath, "sample-every", SampleEveryKey, 0);
        int sampleLength = Kept(a, resumed, resumePath, "sample-length", SampleLengthKey, 300);
        long? storedValidation = resumed?.Metadata.GetValueOrDefault(ValidationLengthKey) is { } storedLength
            ? storedLength == FullValidation ? long.MaxValue : StoredCount(resumed!, resumePath!, ValidationLengthKey, long.MaxValue - 1)
            : null;
        // a resumed run validates as its checkpoint did, on the whole range (--val-full, kept) or on the same sample
        if (storedValidation is { } fixedLength && a.Has("val-full") && fixedLength != long.MaxValue)
            throw new UsageException($"--val-full differs from the checkpoint's validation sample ({fixedLength:N0} characters per stream): a resumed run validates as it did");
        if (patience > 0 && evalEvery == 0)
            throw new UsageException(a.Has("patience") ? "--patience counts periodic validations: give --eval-every K > 0"
                : $"the checkpoint's run stops with --patience {patience}, which counts periodic validations: give --eval-every K > 0, or --patience 0");
        if ((patience > 0 || keepBest) && valFrac == 0) throw new UsageException($"--{(patience > 0 ? "patience" : "keep-best")} needs validation: give --val-frac > 0");

        // the text, and the model's vocabulary and mode
        bool lines = resumed?.Model.SequenceMode ?? initial?.Model.SequenceMode ?? a.Has("lines");
        if (initial is not null && a.Has("lines") != initial.Model.SequenceMode)
            throw new UsageException(initial.Model.SequenceMode ? "the --init-from model is a lines model: add --lines" : "the --init-from model is not a lines model: drop --lines");
        using var log = a.String("log") is { } logPath ? RunLog.Open(logPath) : null;
        var report = new TrainReport(json, log);
        var inputs = a.Has("input") ? a.Strings("input") : StoredInputs(resumed);
        // a resumed run reads its text as the checkpoint's run did
        bool replaceInvalid = a.Has("replace-invalid") || resumed?.Metadata.GetValueOrDefault(ReplaceInvalidKey) == "1";
        using var corpus = CorpusText.Open(inputs, lines, replaceInvalid, mb => report.Task("tokenizing", mb, "MB/s"));
        var vocabulary = resumed?.Model.Vocabulary ?? initial?.Model.Vocabulary ?? corpus.Vocabulary;
        var tokens = corpus.In(vocabulary, resumed is not null || initial is not null ? "the training text does not fit the model" : "the training text");
        var warnings = new List<string>();
        if (!keepBest && resumed?.Metadata.GetValueOrDefault(KeepBestKey) == "1")
            warnings.Add("the checkpoint's run kept its best checkpoint (--keep-best); this one does not unless given --keep-best again");
        if (corpus.RebuildReason is { } rebuilt) warnings.Add($"rebuilt the token store: {rebuilt}");
        if (resume is not null && ResumeCheck.SameText(resume, resumePath!, corpus.Length, corpus.TextHash, corpus.Name) is { } textWarning) warnings.Add(textWarning);

        int boundary = lines && vocabulary.TryGetId(new System.Text.Rune('\n'), out int newline) ? newline : -1;
        CorpusSplit split;
        try { split = CorpusSplit.Compute(tokens.Length, valFrac, testFrac, boundary >= 0 ? CorpusSplit.NextBoundaryIn(tokens, boundary) : null); }
        catch (ArgumentOutOfRangeException) { throw new UsageException("--val-frac and --test-frac must leave some text for training"); }
        var held = new HeldOut(Range(tokens, split.Validation), Range(tokens, split.Test));
        if ((patience > 0 || keepBest) && held.Validation is null)
            throw new UsageException($"--val-frac {a.String("val-frac") ?? valFrac.ToString(CultureInfo.InvariantCulture)} leaves no validation text ({split.Validation.Length} characters{(boundary >= 0 ? ", the cut moved to the end of a line" : "")}): "
                + $"--{(patience > 0 ? "patience" : "keep-best")} needs some; give a larger --val-frac");

        // trainer: resumed, or new options over a new or given model
        Trainer trainer;
        ulong seed;
        try
        {
            var trainTokens = new TokenSourceRange(tokens, split.Train);
            if (resume is not null)
            {
                trainer = resume.CreateTrainer(trainTokens, a.Has("threads") ? resumeOptions!.Threads : null);
                seed = resume.Options.Seed;
                // B streams split among other threads (at most one per stream) sum their gradients in another order; batch
                // 1 splits columns, which gives the same numbers
                int batch = resume.Options.BatchSize;
                if (a.Has("threads") && batch > 1 && Math.Min(resumeOptions!.Threads, batch) != Math.Min(resume.Options.Threads, batch))
                    warnings.Add($"--threads {resumeOptions.Threads} differs from the checkpoint's run ({resume.Options.Threads}): its {resume.Options.BatchSize} streams' gradients then sum in another order, so the run does not continue bit-identically to one on {resume.Options.Threads} thread(s)");
            }
            else
            {
                var model = initial?.Model;
                var (cell, layers) = Architecture(a, model);
                var options = ReadOptions(a, cell);
                seed = options.Seed;
                if (model is not null && a.Has("hidden") && a.Int("hidden", 0) != model.HiddenSize)
                    throw new UsageException($"--hidden {a.Int("hidden", 0)} differs from the --init-from model's {model.HiddenSize}");
                if (model is not null && a.Has("relu") != (model.Nonlinearity == Nonlinearity.Relu))
                    throw new UsageException("--relu must match the --init-from model's nonlinearity");
                if (a.Has("relu") && cell != CellKind.Rnn) throw new UsageException($"--relu applies to rnn cells; {cell.Name()} cells have fixed nonlinearities");
                if (options.Dropout > 0 && layers == 1) warnings.Add("--dropout acts between layers: with one layer it does nothing (as in PyTorch)");
                model ??= Trainer.NewModel(vocabulary, a.Int("hidden", 128, 1, 65536), options, a.Has("relu") ? Nonlinearity.Relu : Nonlinearity.Tanh, lines, cell, layers);
                trainer = new Trainer(model, trainTokens, options);
            }
        }
        catch (ArgumentException e) { throw new CommandError(e.Message); }

        using (trainer)
        {
            var sampleRng = resume?.RngState is { } state ? Rng.FromState(state) : new Rng(seed ^ 0x5DEECE66DUL);
            long total = a.Has("epochs") ? checked(a.Long("epochs", 1, 1) * trainer.Data.StepsPerEpoch) : a.Long("steps", 10000, 1);
            bool closingDue = resumed?.Metadata.ContainsKey(TrainingRun.ClosingDueKey) == true;
            if (resume is not null && (total < trainer.Step || (total == trainer.Step && !closingDue)))
                throw new UsageException($"the checkpoint is at step {trainer.Step:N0} and {(a.Has("epochs") ? $"--epochs {a.Long("epochs", 1)} is {total:N0} steps" : $"--steps {total:N0}")}: "
                    + $"the total counts the steps before --resume, so nothing is left to train (give more than {trainer.Step:N0} steps)");
            var o = trainer.Options;
            // the default validation sample: a tenth of the characters trained between passes, spread over the B streams
            // (a run shorter than K has one pass, after all its steps; min with the whole run's steps keeps a resume's
            // passes the same length as those before it)
            long sampleSteps = evalEvery > 0 ? Math.Min(evalEvery, total) : Math.Max(1, total - trainer.Step);
            long validationLength = storedValidation ?? (a.Has("val-full") ? long.MaxValue : Math.Max(1, (sampleSteps * o.SequenceLength + 9) / 10));
            var schedule = new RunSchedule(total, PrintEvery: a.Int("print-every", 100, 1), EvalEvery: evalEvery,
                CheckpointEvery: a.Int("checkpoint-every", 1000, 0), SampleEvery: sampleEvery, SampleLength: sampleLength,
                ValidationLength: validationLength, Patience: patience);
            // a resumed run saves back to the file it resumed from unless told otherwise
            var checkpoint = new CheckpointTarget(a.String("checkpoint") ?? resumePath ?? "charrnn.safetensors", resumePath, resume?.Step ?? 0);
            var best = keepBest ? new CheckpointTarget(BestPath(checkpoint.Path)) : null;
            string runId = resume?.RunId ?? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
            var metadata = new Dictionary<string, string>
            {
                [InputKey] = StoredForm(inputs),
                [ValFracKey] = valFrac.ToString("R", CultureInfo.InvariantCulture),
                [ValidationLengthKey] = validationLength == long.MaxValue ? FullValidation : validationLength.ToString(CultureInfo.InvariantCulture),
                [EvalEveryKey] = evalEvery.ToString(CultureInfo.InvariantCulture),
                [PatienceKey] = patience.ToString(CultureInfo.InvariantCulture),
                [SampleEveryKey] = sampleEvery.ToString(CultureInfo.InvariantCulture),
                [SampleLengthKey] = sampleLength.ToString(CultureInfo.InvariantCulture),
                [TestFracKey] = testFrac.ToString("R", CultureInfo.InvariantCulture),
                [KeepBestKey] = keepBest ? "1" : "0",
                [ReplaceInvalidKey] = replaceInvalid ? "1" : "0",
                [CheckpointKeys.RunId] = runId,
                [CheckpointKeys.TextLength] = corpus.Length.ToString(CultureInfo.InvariantCulture),
                [CheckpointKeys.TextHash] = corpus.TextHash,
            };
            var model = trainer.Model;
            if (checkpoint.Prepare(model, trainer, runId) is { } replacing) warnings.Add(replacing);
            if (best?.Prepare(model, trainer, runId) is { } replacingBest) warnings.Add(replacingBest);

            // counted in characters (tokens): the token at each cut once, in the range after it
            long testCharacters = split.Test.Length, validationCharacters = Math.Max(0, split.Validation.Length - (split.Test.IsEmpty ? 0 : 1));
            var run = new TrainingRun(trainer, held, checkpoint, best, metadata, BestValidation.From(resumed?.Metadata),
                resumed?.Metadata.ContainsKey(TrainingRun.ValidationDueKey) == true, closingDue, sampleRng,
                seed => Sample(model, seed, schedule.SampleLength), schedule, report);
            var start = new TrainStart(corpus.Length, corpus.Length - validationCharacters - testCharacters, validationCharacters, testCharacters,
                run.ValidationPredictions, vocabulary.Count, model.Cell.Name(), model.Layers, model.HiddenSize, o.SequenceLength, o.BatchSize,
                o.Optimizer.ToString().ToLowerInvariant(), o.LearningRate, trainer.Threads, trainer.Policy, trainer.Step, total, checkpoint.Path, runId, corpus.StorePath);
            return run.Execute(start, warnings);
        }
    }

    private static ITokenSource? Range(ITokenSource tokens, TokenRange range) => range.Length < 2 ? null : new TokenSourceRange(tokens, range);

    /// <summary>Where --keep-best saves: CKPT.best.safetensors beside CKPT.safetensors (CKPT.best.safetensors for any other name CKPT).</summary>
    internal static string BestPath(string checkpoint)
        => (checkpoint.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) ? checkpoint[..^".safetensors".Length] : checkpoint) + ".best.safetensors";

    /// <summary>The cell and depth of a new run: the flags, which must match an --init-from model's.</summary>
    private static (CellKind Cell, int Layers) Architecture(ParsedArguments a, CharRnnModel? initial)
    {
        var cell = initial?.Cell ?? CellKind.Rnn;
        if (a.String("cell") is { } name)
        {
            if (!CellKinds.TryParse(name, out var given)) throw new UsageException($"--cell must be rnn, lstm or gru, got '{name}'");
            if (initial is not null && given != initial.Cell) throw new UsageException($"--cell {name} differs from the --init-from model's {initial.Cell.Name()}");
            cell = given;
        }
        int layers = a.Int("layers", initial?.Layers ?? 1, 1, 64);
        if (initial is not null && layers != initial.Layers) throw new UsageException($"--layers {layers} differs from the --init-from model's {initial.Layers}");
        foreach (var flag in new[] { "init", "init-bias", "forget-bias" })
            if (initial is not null && a.Has(flag)) throw new UsageException($"--{flag} sets a new model's starting weights; the --init-from model brings its own");
        return (cell, layers);
    }

    /// <summary>
    /// The options the flags give; absent flags take the CLI's defaults (the weights' initialisation depends on
    /// <paramref name="cell"/>: min-char-rnn's normal:0.01 for rnn, char-rnn's uniform:0.08 for the gated cells), or
    /// <paramref name="stored"/>'s values.
    /// </summary>
    private static TrainingOptions ReadOptions(ParsedArguments a, CellKind cell, TrainingOptions? stored = null)
    {
        var optimizer = a.String("optimizer")?.ToLowerInvariant() switch
        {
            null => stored?.Optimizer ?? OptimizerKind.Adam,
            "sgd" => OptimizerKind.Sgd,
            "adagrad" => OptimizerKind.Adagrad,
            "adam" => OptimizerKind.Adam,
            "rmsprop" => OptimizerKind.RmsProp,
            var other => throw new UsageException($"--optimizer must be sgd, adagrad, adam or rmsprop, got '{other}'"),
        };
        NotApplicable(a, cell, optimizer);
        var d = stored ?? new TrainingOptions
        {
            SequenceLength = 25, BatchSize = 16, Optimizer = optimizer, LearningRate = optimizer is OptimizerKind.Adam or OptimizerKind.RmsProp ? 0.002 : 0.1,
            WeightInit = cell == CellKind.Rnn ? new InitScheme(InitKind.Normal, 0.01) : new InitScheme(InitKind.Uniform, 0.08),
        };
        InitScheme Scheme(string name, InitScheme fallback)
        {
            try { return a.String(name) is { } text ? InitScheme.Parse(text) : fallback; }
            catch (FormatException e) { throw new UsageException($"--{name}: {e.Message}"); }
        }
        var options = new TrainingOptions
        {
            SequenceLength = a.Int("seq-len", d.SequenceLength, 1, 100_000),
            BatchSize = a.Int("batch", d.BatchSize, 1, 100_000),
            Optimizer = optimizer,
            LearningRate = a.Double("lr", d.LearningRate, 0, double.MaxValue, minExclusive: true),
            Beta1 = a.Double("beta1", d.Beta1, 0, 0.999999),
            Beta2 = a.Double("beta2", d.Beta2, 0, 0.99999999),
            Epsilon = a.Double("eps", d.Epsilon, 0, 1, minExclusive: true),
            Alpha = a.Double("alpha", d.Alpha, 0, 0.999999),
            Dropout = a.Double("dropout", d.Dropout, 0, 0.95),
            ForgetBias = a.Double("forget-bias", d.ForgetBias, -100, 100),
            ClipValue = a.Double("clip", d.ClipValue, 0),
            ClipNorm = a.Double("clip-norm", d.ClipNorm, 0),
            LearningRateDecay = a.Double("lr-decay", d.LearningRateDecay, 0, 1, minExclusive: true),
            DecayEvery = a.Int("lr-decay-every", d.DecayEvery, 1),
            WeightInit = Scheme("init", d.WeightInit),
            BiasInit = Scheme("init-bias", d.BiasInit),
            Seed = a.ULong("seed", d.Seed),
            Threads = a.Has("threads") ? ThreadCount.Read(a) : d.Threads,
        };
        Single(a, "lr", options.LearningRate);
        Single(a, "eps", options.Epsilon);
        Single(a, "clip", options.ClipValue);
        Single(a, "clip-norm", options.ClipNorm);
        Single(a, "init", options.WeightInit.Scale);
        Single(a, "init-bias", options.BiasInit.Scale);
        return options;
    }

    // training computes in single precision: a value that rounds to 0 there (a clip would silently be off, an ε would
    // divide by 0) or past its range (an infinite learning rate) is refused
    private static void Single(ParsedArguments a, string flag, double value)
    {
        if (!a.Has(flag) || value == 0) return;
        float rounded = (float)Math.Abs(value);
        if (rounded == 0) throw new UsageException($"--{flag} {a.String(flag)} rounds to 0 in single precision, in which training computes: give at least 1.4e-45{(flag.StartsWith("clip", StringComparison.Ordinal) ? ", or 0 for off" : "")}");
        if (float.IsInfinity(rounded)) throw new UsageException($"--{flag} {a.String(flag)} is past the range of single precision (3.4e38), in which training computes");
    }

    // a flag the run would ignore is a mistake the user should hear of, as --relu on a gated cell
    private static void NotApplicable(ParsedArguments a, CellKind cell, OptimizerKind optimizer)
    {
        string name = optimizer.ToString().ToLowerInvariant();
        if (a.Has("forget-bias") && cell != CellKind.Lstm)
            throw new UsageException($"--forget-bias applies to lstm cells (the forget gate's bias); {cell.Name()} cells have no forget gate");
        foreach (var flag in new[] { "beta1", "beta2" })
            if (a.Has(flag) && optimizer != OptimizerKind.Adam) throw new UsageException($"--{flag} applies to adam; {name} does not use it");
        if (a.Has("alpha") && optimizer != OptimizerKind.RmsProp) throw new UsageException($"--alpha applies to rmsprop (its decay rate); {name} does not use it");
        if (a.Has("eps") && optimizer == OptimizerKind.Sgd) throw new UsageException("--eps applies to adam, adagrad and rmsprop; sgd does not use it");
    }

    /// <summary>How a checkpoint records the inputs: "(embedded)", "(stdin)", one full path, or a JSON array of full paths.</summary>
    private static string StoredForm(IReadOnlyList<string> inputs) => inputs.Count switch
    {
        0 => EmbeddedInput,
        1 when inputs[0] == Inputs.StandardInput => StandardInput,
        1 => Path.GetFullPath(inputs[0]),
        _ => JsonSerializer.Serialize(inputs.Select(Path.GetFullPath).ToArray(), InputsJson.Default.StringArray),
    };

    /// <summary>The resumed run's inputs (none: the embedded corpus).</summary>
    private static IReadOnlyList<string> StoredInputs(LoadedCheckpoint? resumed)
    {
        var stored = resumed?.Metadata.GetValueOrDefault(InputKey);
        if (stored == StandardInput) throw new UsageException("the run read its text from standard input: give it again with --input -");
        if (stored is null or EmbeddedInput) return [];
        IReadOnlyList<string> paths;
        if (!stored.StartsWith('[')) paths = [stored];
        else
        {
            try { paths = JsonSerializer.Deserialize(stored, InputsJson.Default.StringArray) ?? []; }
            catch (JsonException) { throw new CommandError($"the checkpoint's metadata \"{InputKey}\" is '{stored}', not a path or a JSON array of paths: give --input again"); }
        }
        // a corpus moved since: the path is the checkpoint's, and --input names the new place (the text is still checked)
        foreach (var path in paths)
            if (!File.Exists(path) && !Directory.Exists(path))
                throw new CommandError($"the run's input '{path}', as the checkpoint records it, does not exist: if the text has moved, give it with --input");
        return paths;
    }

    /// <summary>The resumed run's <c>--val-frac</c> or <c>--test-frac</c> (0 in checkpoints that predate it).</summary>
    private static double StoredFraction(LoadedCheckpoint resumed, string path, string key)
    {
        if (!resumed.Metadata.TryGetValue(key, out var text)) return 0;
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double f) && f is >= 0 and <= 0.5 ? f
            : throw new CommandError($"'{path}' is not a valid checkpoint: metadata \"{key}\" is '{text}', not a number in 0..0.5");
    }

    /// <summary>A count of the run's schedule: the flag's, else (resumed) the checkpoint's under <paramref name="key"/>, else <paramref name="fallback"/>.</summary>
    private static int Kept(ParsedArguments a, LoadedCheckpoint? resumed, string? path, string flag, string key, int fallback)
        => a.Has(flag) || resumed?.Metadata.ContainsKey(key) != true ? a.Int(flag, fallback, 0) : (int)StoredCount(resumed, path!, key, int.MaxValue);

    private static long StoredCount(LoadedCheckpoint resumed, string path, string key, long most)
    {
        var text = resumed.Metadata[key];
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long n) && n <= most ? n
            : throw new CommandError($"'{path}' is not a valid checkpoint: metadata \"{key}\" is '{text}', not a count in 0..{most}");
    }

    private static string Sample(CharRnnModel model, ulong seed, int length)
    {
        using var generator = new Generator(new InferenceModel(model));
        return generator.Sample(seed, length, new SamplingOptions(0.8));
    }
}

/// <summary>The JSON of a checkpoint's list of inputs (source-generated: the tool is trimmed and AOT-compiled).</summary>
[JsonSerializable(typeof(string[]))]
internal sealed partial class InputsJson : JsonSerializerContext;
