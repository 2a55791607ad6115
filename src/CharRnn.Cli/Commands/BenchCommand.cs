using System.Diagnostics;
using System.Globalization;
using System.Text;
using CharRnn.Cli.Arguments;
using CharRnn.Cli.Output;
using CharRnn.Fast.Inference;
using CharRnn.Fast.Kernels;
using CharRnn.Fast.Model;
using CharRnn.Fast.Text;
using CharRnn.Fast.Training;

namespace CharRnn.Cli.Commands;

/// <summary><c>charrnn bench</c>: training and generation throughput on synthetic tokens.</summary>
internal static class BenchCommand
{
    public static readonly Option[] Options =
    [
        new("hidden", "H", "hidden units (default 128)"),
        new("cell", "CELL", "rnn, lstm or gru (default rnn)"),
        new("layers", "L", "stacked layers: 1..64 (default 1)"),
        new("batch", "B", "streams per training step (default 1)"),
        new("seq-len", "T", "characters per step (default 25)"),
        new("vocab", "V", "vocabulary size (default 65)"),
        new("threads", "N", "threads for training and for generation; generation uses at most one per 128 hidden units (default 1)"),
        WeightsChoice.Option("f32; with --latency, " + WeightsChoice.StoredFormat),
        new("streams", "N", "also measure N generation streams advanced together (BatchGenerator): aggregate chars/s, GFLOP/s and its fraction of peak"),
        new("seconds", "S", "measuring time for training (generation gets half), or for --peak (default 3)"),
        new("peak", null, "instead: one core's FMA peak (GFLOP/s) on the active kernel policy (multiply then add on x86's 128-bit path, which serves CPUs without FMA), the bound training figures are quoted against"),
        new("latency", "MODEL", "instead: time every generated character of the model file MODEL and print p50 / p99 / max / mean µs"),
        new("chars", "N", "characters timed by --latency, at least 1000 (default 200000)"),
        new("json", null, "print one JSON object (its fields are listed below)"),
    ];

    public static string HelpText => Help.For("charrnn bench [options]",
        "Measures training (Adam, element-wise clip 5) and generation (batch 1, temperature 1) on uniformly random tokens,\n" +
        "after a warm-up, and one core's FMA peak on the same kernel policy. Training and generation are each timed in five\n" +
        "rounds and the fastest is reported, as the peak is (other load on the machine only slows a round down). Training\n" +
        "GFLOP/s counts the useful flops per character, 6GH²·(2L − 1) + 6HV with G = 1, 4, 3 gate blocks for rnn, lstm, gru\n" +
        "(forward, backward and weight gradients of every layer's recurrent and, above layer 0, input products, and of the\n" +
        "output layer; layer 0's one-hot input is a row gather); the fraction of peak is that over the single-core peak\n" +
        "(with --threads N it can exceed 1).\n" +
        "Generation streams every weight matrix once per character: its GB/s (weight bytes per character over the time per\n" +
        "character) is set beside one core's rate of reading a working set of that size, the bound it runs into once the\n" +
        "weights outgrow L1 (bf16 and int8 weights read 2× and 4× fewer bytes).\n" +
        "CHARRNN_ISA=512|256|128|scalar forces a kernel policy.\n" +
        "With --latency it measures a model file instead: after 20,000 warm-up characters, each call that samples and feeds\n" +
        "one character (Generator.Next, temperature 1, seed 1) is timed on its own, as bench/native/latency.c times\n" +
        "charrnn_generator_next. A flag a mode does not use is refused: the synthetic model's (--hidden, --cell, --layers,\n" +
        "--batch, --seq-len, --vocab, --streams) with --peak or --latency, --seconds with --latency, and --threads,\n" +
        "--weights and --chars with --peak.", Options,
        "With --streams N, generation of N streams at once counts 2GH²(2L − 1) + 2HV flops per character.\n" +
        "--json prints {\"event\":\"bench\",\"train_chars_per_s\":…,\"train_gflops\":…,\"peak_gflops\":…,\"fraction_of_peak\":…,\"generate_us_per_char\":…,\n" +
        "\"generate_weight_bytes_per_char\":…,\"generate_gbps\":…,\"read_gbps\":…,\"generate_fraction_of_read\":…,\n" +
        "\"kernels\":…,\"vector_path\":…,\"cell\":…,\"layers\":…,\"hidden\":…,\"batch\":…,\"threads\":…,\"seq_len\":…,\"vocab\":…,\"weights\":…};\n" +
        "with --peak {\"event\":\"peak\",\"peak_gflops\":…,\"kernels\":…,\"vector_path\":…,\"threads\":1};\n" +
        "with --latency {\"event\":\"latency\",\"api\":\"dotnet\",\"p50_us\":…,\"p99_us\":…,\"max_us\":…,\"mean_us\":…,\"chars\":…,\"weights\":…}.\n" +
        "--weights applies to generation only (and --streams): training always runs in f32.");

    // the synthetic model's shape and the streams measured on it, which --peak and --latency do not build
    private static readonly string[] SyntheticModel = ["hidden", "cell", "layers", "batch", "seq-len", "vocab", "streams"];

    public static int Run(ParsedArguments a)
    {
        // a flag the measurement would ignore is refused, as train refuses one its cell or optimizer ignores
        if (a.Has("peak")) NotApplicable(a, "--peak measures one core's FMA peak", [.. SyntheticModel, "threads", "weights", "latency", "chars"]);
        else if (a.Has("latency")) NotApplicable(a, "--latency measures the model file it names", [.. SyntheticModel, "seconds"]);
        else if (a.Has("chars")) throw new UsageException("--chars applies to --latency");
        if (a.Has("peak")) return Peak(a.Double("seconds", 3, 0.05, 3600), a.Has("json"));
        var weights = WeightsChoice.Read(a);
        if (a.String("latency") is { } modelPath) return Latency(modelPath, a.Int("chars", 200_000, 1000), ThreadCount.Read(a), weights, a.Has("json"));
        int h = a.Int("hidden", 128, 1, 65536), b = a.Int("batch", 1, 1, 4096), t = a.Int("seq-len", 25, 1, 10_000);
        int v = a.Int("vocab", 65, 2, 100_000), threads = ThreadCount.Read(a), layers = a.Int("layers", 1, 1, 64);
        string cellName = a.String("cell", "rnn");
        if (!CellKinds.TryParse(cellName, out var cell)) throw new UsageException($"--cell must be rnn, lstm or gru, got '{cellName}'");
        double seconds = a.Double("seconds", 3, 0.05, 3600);
        bool json = a.Has("json");

        var vocabulary = Vocabulary.FromSymbols(Enumerable.Range(0, v).Select(i => new Rune(0x100 + i)));
        var rng = new Random(1);
        var tokens = new int[Math.Max(200_000, 2 * t * b + 1)];
        for (int i = 0; i < tokens.Length; i++) tokens[i] = rng.Next(v);
        var options = new TrainingOptions { SequenceLength = t, BatchSize = b, Threads = threads, Optimizer = OptimizerKind.Adam, LearningRate = 1e-3, ClipValue = 5 };
        CharRnnModel model;
        try { model = Trainer.NewModel(vocabulary, h, options, cell: cell, layers: layers); }
        catch (ArgumentException e) { throw new UsageException(e.Message); } // sizes too large together
        var policy = KernelPolicy.Default;
        if (!json) Console.Error.WriteLine($"charrnn bench: {cell.Name()} × {layers}, H {h}, B {b}, T {t}, V {v}, {threads} thread(s), kernels {policy}");

        double trainRate;
        using (var trainer = new Trainer(model, tokens, options))
        {
            Measure(() => trainer.TrainStep(), Math.Min(0.5, seconds / 4), 3, batch: 1);
            trainRate = BestRate(() => trainer.TrainStep(), seconds, 1, batch: 1) * t * b;
        }
        var format = weights ?? WeightFormat.F32;
        using var generator = new Generator(new InferenceModel(model, policy, format), 1, threads);
        var sampling = new SamplingOptions();
        Measure(() => generator.Next(sampling), Math.Min(0.2, seconds / 8), 1000);
        double usPerChar = 1e6 / BestRate(() => generator.Next(sampling), seconds / 2, 2000);
        int streams = a.Int("streams", 0, 1, 100_000);
        double streamRate = 0;
        if (streams > 0)
        {
            var batch = new BatchGenerator(generator.Model, streams);
            for (int i = 0; i < streams; i++) batch.Start(i, (ulong)i + 1);
            var next = new int[streams];
            SamplingOptions[] all = [sampling];
            Measure(() => batch.Next(all, next), Math.Min(0.2, seconds / 8), 10);
            streamRate = BestRate(() => batch.Next(all, next), seconds / 2, 4) * streams;
        }

        string path = VectorPaths.Describe(policy.Path);
        double gflops = trainRate * TrainingFlopsPerCharacter(model.Parameters.Shape) / 1e9, peak = FmaPeak.Measure(policy, Math.Min(1, seconds / 3));
        // generation streams its weights once per character: its traffic against one core's rate of reading that much memory
        long weightBytes = generator.Model.WeightBytesPerCharacter;
        double generateGbps = weightBytes / (usPerChar * 1e3), readGbps = ReadRate.Measure(policy, weightBytes, Math.Min(0.5, seconds / 6));
        if (json)
            JsonLine.Write(w =>
            {
                w.WriteString("event", "bench"); w.WriteNumber("train_chars_per_s", trainRate); w.WriteNumber("train_gflops", gflops); w.WriteNumber("peak_gflops", peak);
                w.WriteNumber("fraction_of_peak", gflops / peak); w.WriteNumber("generate_us_per_char", usPerChar);
                w.WriteNumber("generate_weight_bytes_per_char", weightBytes); w.WriteNumber("generate_gbps", generateGbps);
                w.WriteNumber("read_gbps", readGbps); w.WriteNumber("generate_fraction_of_read", generateGbps / readGbps);
                if (streams > 0)
                {
                    double streamGflops = streamRate * GenerationFlopsPerCharacter(model.Parameters.Shape) / 1e9;
                    w.WriteNumber("streams", streams); w.WriteNumber("streams_chars_per_s", streamRate); w.WriteNumber("streams_gflops", streamGflops);
                    w.WriteNumber("streams_fraction_of_peak", streamGflops / peak); w.WriteNumber("streams_speedup", streamRate * usPerChar / 1e6);
                }
                w.WriteString("kernels", policy.Name); w.WriteString("vector_path", path); w.WriteString("cell", cell.Name()); w.WriteNumber("layers", layers);
                w.WriteNumber("hidden", h); w.WriteNumber("batch", b); w.WriteNumber("threads", threads); w.WriteNumber("seq_len", t); w.WriteNumber("vocab", v);
                w.WriteString("weights", format.Name());
            });
        else
        {
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"train {trainRate:N0} chars/s ({gflops:F1} GFLOP/s, {100 * gflops / peak:F0}% of one core's {peak:F1})   generate {usPerChar:F2} µs/char ({format.Name()} weights, {generateGbps:F1} GB/s: {100 * generateGbps / readGbps:F0}% of one core's {readGbps:F1} reading {weightBytes / 1024.0:N0} KiB)   ({policy.Name}, {path})"));
            if (streams > 0)
                Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{streams} streams: {streamRate:N0} chars/s in all ({streamRate * usPerChar / 1e6:F1}× one stream; {100 * streamRate * GenerationFlopsPerCharacter(model.Parameters.Shape) / 1e9 / peak:F0}% of peak)"));
        }
        return 0;
    }

    /// <summary>Flops of one generated character: every layer's products and the output layer's, 2GH²·(2L − 1) + 2HV.</summary>
    public static double GenerationFlopsPerCharacter(RnnShape shape)
    {
        double h = shape.HiddenSize, g = shape.Gates;
        return 2 * g * h * h * (2 * shape.Layers - 1) + 2 * h * shape.OutputSize;
    }

    /// <summary>
    /// Useful flops of one trained character: forward, backward and weight gradient (3 × 2) of every layer's recurrent
    /// product (G·H × H), of the input products above layer 0 (G·H × H; layer 0's one-hot input is a gather), and of the
    /// output layer (V × H): 6GH²·(2L − 1) + 6HV.
    /// </summary>
    public static double TrainingFlopsPerCharacter(RnnShape shape)
    {
        double h = shape.HiddenSize, g = shape.Gates;
        return 6 * g * h * h * (2 * shape.Layers - 1) + 6 * h * shape.OutputSize;
    }

    private static void NotApplicable(ParsedArguments a, string mode, string[] flags)
    {
        foreach (var flag in flags)
            if (a.Has(flag)) throw new UsageException($"{mode}: --{flag} does not apply");
    }

    private static int Peak(double seconds, bool json)
    {
        var policy = KernelPolicy.Default;
        double peak = FmaPeak.Measure(policy, seconds);
        if (json)
            JsonLine.Write(w => { w.WriteString("event", "peak"); w.WriteNumber("peak_gflops", peak); w.WriteString("kernels", policy.Name); w.WriteString("vector_path", VectorPaths.Describe(policy.Path)); w.WriteNumber("threads", 1); });
        else
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"FMA peak {peak:F1} GFLOP/s on one core ({policy})"));
        return 0;
    }

    /// <summary>
    /// p50 / p99 / max of one <see cref="Generator.Next"/> call, one timestamp per character after a warm-up: the .NET
    /// side of the native API's latency harness (bench/native/latency.c), which times charrnn_generator_next the same way.
    /// </summary>
    private static int Latency(string modelPath, int chars, int threads, WeightFormat? weights, bool json)
    {
        var loaded = Inputs.LoadModel(modelPath);
        var format = weights ?? loaded.StoredWeights;
        using var generator = new Generator(new InferenceModel(loaded.Model, weights: format), 1, threads);
        var options = new SamplingOptions();
        for (int i = 0; i < 20_000; i++) generator.Next(options);
        var us = new double[chars];
        double tick = 1e6 / Stopwatch.Frequency, total = 0;
        for (int i = 0; i < chars; i++)
        {
            long start = Stopwatch.GetTimestamp();
            generator.Next(options);
            us[i] = (Stopwatch.GetTimestamp() - start) * tick;
            total += us[i];
        }
        Array.Sort(us);
        double p50 = us[chars / 2], p99 = us[(int)(chars * 0.99)], max = us[^1], mean = total / chars;
        if (json)
            JsonLine.Write(w => { w.WriteString("event", "latency"); w.WriteString("api", "dotnet"); w.WriteNumber("p50_us", p50); w.WriteNumber("p99_us", p99); w.WriteNumber("max_us", max); w.WriteNumber("mean_us", mean); w.WriteNumber("chars", chars); w.WriteString("weights", format.Name()); });
        else
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"p50 {p50:F3} µs  p99 {p99:F3} µs  max {max:F1} µs  mean {mean:F3} µs over {chars} characters ({format.Name()} weights)"));
        return 0;
    }

    /// <summary>
    /// Runs <paramref name="work"/> for at least <paramref name="seconds"/> and <paramref name="minimum"/> times, reading
    /// the clock after every <paramref name="batch"/> calls; returns (count, seconds).
    /// </summary>
    private static (long Count, double Seconds) Measure(Action work, double seconds, int minimum, int batch = 16)
    {
        var clock = Stopwatch.StartNew();
        long n = 0;
        while (n < minimum || clock.Elapsed.TotalSeconds < seconds)
        {
            for (int i = 0; i < batch; i++) work();
            n += batch;
        }
        return (n, clock.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// Calls of <paramref name="work"/> per second in the fastest of <see cref="Rounds"/> rounds that share
    /// <paramref name="seconds"/>, each of at least <paramref name="minimum"/> calls: other load on the machine only
    /// slows a round down, so the fastest is the least disturbed (the FMA peak and the read rate are the best of
    /// rounds too).
    /// </summary>
    private static double BestRate(Action work, double seconds, int minimum, int batch = 16)
    {
        double best = 0;
        for (int r = 0; r < Rounds; r++)
        {
            var (n, elapsed) = Measure(work, seconds / Rounds, minimum, batch);
            best = Math.Max(best, n / elapsed);
        }
        return best;
    }

    /// <summary>Timed rounds of training and of generation.</summary>
    private const int Rounds = 5;
}
