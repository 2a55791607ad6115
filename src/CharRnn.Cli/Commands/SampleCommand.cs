using System.Text;
using CharRnn.Cli.Arguments;
using CharRnn.Cli.Output;
using CharRnn.Fast.Inference;
using CharRnn.Fast.Text;

namespace CharRnn.Cli.Commands;

/// <summary><c>charrnn sample</c>: streams generated text to stdout.</summary>
internal static class SampleCommand
{
    public static readonly Option[] Options =
    [
        new("model", "FILE", "model or checkpoint (required)"),
        new("prime", "TEXT", "text fed before generating, and printed; no line break for a lines model (default: none; generation starts from \\n if the vocabulary has it, else from its first character)"),
        new("length", "N", "characters per sample (default 500; lines models stop earlier at the end of the line)"),
        new("temperature", "X", "divide the logits by X; lower is more conservative, 0 = greedy (default 1)"),
        new("top-k", "K", "sample only among the K most likely characters; 0 = off (default 0)"),
        new("top-p", "P", "sample only among the most likely characters whose probability adds up to P; 1 = off (default 1)"),
        new("greedy", null, "always take the most likely character (not with --temperature, --top-k, --top-p or --seed)"),
        new("seed", "S", "random seed; sample i uses seed S+i (default 1)"),
        new("count", "N", "independent samples, each from a fresh state with its own seed (default 1), generated together up to 64 at a time (each weight read once per step for all of them; the same text as one by one); a stream model prints the line '--- sample I (seed S) ---' before each sample after the first, a lines model one sample per line"),
        new("threads", "N", "threads per character, at most one per 128 hidden units; pays from H = 512 on, same output (default 1); with --count, N > 1 generates the samples one by one instead of together"),
        WeightsChoice.Option(WeightsChoice.StoredFormat),
        new("json", null, "print each sample as a JSON object {\"event\":\"sample\",\"sample\":…,\"seed\":…} per line"),
    ];

    public static string HelpText => Help.For("charrnn sample --model FILE [options]",
        "Generates text one character at a time and streams it to stdout. Lines models print one sample per line.", Options);

    public static int Run(ParsedArguments a)
    {
        string path = a.String("model") ?? throw new UsageException("--model FILE is required");
        if (a.Has("greedy"))
            foreach (var flag in new[] { "temperature", "top-k", "top-p", "seed" })
                if (a.Has(flag)) throw new UsageException($"--{flag} shapes random sampling; --greedy always takes the most likely character");
        var options = new SamplingOptions(a.Double("temperature", 1), a.Int("top-k", 0), a.Double("top-p", 1), a.Has("greedy"));
        try { options.Validate(); }
        catch (ArgumentException e) { throw new UsageException("--" + e.Message); } // the library names each option as its flag is spelled
        int length = a.Int("length", 500, 0), count = a.Int("count", 1, 1), threads = ThreadCount.Read(a);
        ulong seed = a.ULong("seed", 1);
        string prime = a.String("prime", "");
        bool json = a.Has("json");
        var weights = WeightsChoice.Read(a);

        var loaded = Inputs.LoadModel(path);
        var model = new InferenceModel(loaded.Model, weights: weights ?? loaded.StoredWeights);
        Inputs.Encode(model.Vocabulary, prime, "--prime"); // unknown characters: one clear error before any output
        if (model.SequenceMode && prime.Contains('\n'))
            throw new UsageException("--prime: a lines model's sample is one line, so its prime cannot hold a line break");
        var stdout = new StreamWriter(StandardOutput.Open(), new UTF8Encoding(false), 1 << 14);
        try
        {
            var printer = new SamplePrinter(model, stdout, seed, prime, json);
            if (count > 1 && threads == 1) SampleTogether(model, options, length, count, printer);
            else SampleOneByOne(model, options, length, count, threads, printer);
            stdout.Dispose();
        }
        catch (IOException e) when (StandardOutput.ReaderGone(e)) { } // `| head`: nobody reads the rest, so it is not generated
        catch (NonFiniteOutputException e) { throw new CommandError(e.Message); }
        return 0;
    }

    /// <summary>Samples generated together at most this many at a time (the streams of one <see cref="BatchGenerator"/>).</summary>
    internal const int GroupSize = 64;

    // Each step reads every weight once for the whole group. The group's first sample streams as it is generated; the
    // others are held and printed after it, in order.
    private static void SampleTogether(InferenceModel model, SamplingOptions options, int length, int count, SamplePrinter printer)
    {
        SamplingOptions[] all = [options];
        var tokens = new int[Math.Min(count, GroupSize)];
        var held = new StringBuilder[tokens.Length];
        BatchGenerator? batch = null;
        for (int first = 0; first < count; first += GroupSize)
        {
            int streams = Math.Min(GroupSize, count - first);
            if (batch?.Streams != streams) batch = new BatchGenerator(model, streams); // the last group may be smaller
            for (int i = 0; i < streams; i++)
            {
                batch.Start(i, printer.Seed(first + i), printer.Prime);
                (held[i] ??= new StringBuilder()).Clear();
            }
            printer.Begin(first);
            for (int n = 0; n < length; n++)
            {
                batch.Next(all, tokens);
                bool going = false;
                for (int i = 0; i < streams; i++)
                {
                    if (tokens[i] < 0) continue; // a lines model's sample that has ended
                    going = true;
                    if (i == 0) printer.Character(tokens[0], n);
                    else held[i].Append(model.Vocabulary.GetString(tokens[i]));
                }
                if (!going) break;
            }
            printer.End(first);
            for (int i = 1; i < streams; i++)
            {
                printer.Begin(first + i);
                printer.Text(held[i]);
                printer.End(first + i);
            }
        }
    }

    // One sample after another on one generator, each character split over the threads.
    private static void SampleOneByOne(InferenceModel model, SamplingOptions options, int length, int count, int threads, SamplePrinter printer)
    {
        using var generator = new Generator(model, 1, threads);
        for (int i = 0; i < count; i++)
        {
            printer.Begin(i);
            generator.Start(printer.Seed(i), printer.Prime);
            for (int n = 0; n < length && generator.TryNext(options, out int id); n++) printer.Character(id, n);
            printer.End(i);
        }
    }

    /// <summary>
    /// Sample i on stdout: in a stream model the line <c>--- sample I (seed S) ---</c> before every sample but the first,
    /// the prime, the characters (flushed every 16), a newline; with --json one object per sample instead.
    /// </summary>
    private sealed class SamplePrinter(InferenceModel model, StreamWriter stdout, ulong seed, string prime, bool json)
    {
        private readonly StringBuilder _json = new();

        public string Prime => prime;

        /// <summary>Sample i's seed: S + i.</summary>
        public ulong Seed(int i) => seed + (ulong)i;

        public void Begin(int i)
        {
            if (json)
            {
                _json.Clear().Append(prime);
                return;
            }
            if (i > 0 && !model.SequenceMode) stdout.Write($"--- sample {i + 1} (seed {Seed(i)}) ---\n");
            stdout.Write(prime);
        }

        /// <summary>Character <paramref name="n"/> of the sample, streamed as generated.</summary>
        public void Character(int token, int n)
        {
            string text = model.Vocabulary.GetString(token);
            if (json) _json.Append(text);
            else
            {
                stdout.Write(text);
                if ((n & 15) == 15) stdout.Flush();
            }
        }

        public void Text(StringBuilder text)
        {
            if (json) _json.Append(text);
            else stdout.Write(text);
        }

        public void End(int i)
        {
            if (json)
            {
                string text = _json.ToString();
                stdout.Flush();
                stdout.BaseStream.Write(JsonLine.Format(w => { w.WriteString("event", "sample"); w.WriteString("sample", text); w.WriteNumber("seed", Seed(i)); }));
                return;
            }
            stdout.Write('\n');
            stdout.Flush();
        }
    }
}
