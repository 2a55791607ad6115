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
        new("prime", "TEXT", "text fed before generating, and printed (default: none; generation starts from \\n if the vocabulary has it, else from its first character)"),
        new("length", "N", "characters per sample (default 500; lines models stop earlier at the end of the line)"),
        new("temperature", "X", "divide the logits by X; lower is more conservative, 0 = greedy (default 1)"),
        new("top-k", "K", "sample only among the K most likely characters; 0 = off (default 0)"),
        new("top-p", "P", "sample only among the most likely characters whose probability adds up to P; 1 = off (default 1)"),
        new("greedy", null, "always take the most likely character"),
        new("seed", "S", "random seed; sample i uses seed S+i (default 1)"),
        new("count", "N", "independent samples, each from a fresh state with its own seed (default 1); a stream model prints the line '--- sample I (seed S) ---' before each sample after the first, a lines model one sample per line"),
        new("threads", "N", "threads per character, at most one per 128 hidden units; pays from H = 512 on, same output (default 1)"),
        WeightsChoice.Option(WeightsChoice.StoredFormat),
        new("json", null, "print each sample as a JSON object {\"sample\": …} per line"),
    ];

    public static string HelpText => Help.For("charrnn sample --model FILE [options]",
        "Generates text one character at a time and streams it to stdout. Lines models print one sample per line.", Options);

    public static int Run(ParsedArguments a)
    {
        string path = a.String("model") ?? throw new UsageException("--model FILE is required");
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
        using var generator = new Generator(model, 1, threads);
        using var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 1 << 14);
        for (int i = 0; i < count; i++)
        {
            ulong sampleSeed = seed + (ulong)i;
            if (json)
            {
                string text = prime + generator.Sample(sampleSeed, length, options, prime);
                JsonLine.Write(w => { w.WriteString("sample", text); w.WriteNumber("seed", sampleSeed); });
                continue;
            }
            if (i > 0 && !model.SequenceMode) stdout.Write($"--- sample {i + 1} (seed {sampleSeed}) ---\n");
            stdout.Write(prime);
            generator.Start(sampleSeed, prime);
            for (int n = 0; n < length && generator.TryNext(options, out int id); n++)
            {
                stdout.Write(model.Vocabulary.GetString(id));
                if ((n & 15) == 15) stdout.Flush(); // stream as generated
            }
            stdout.Write('\n');
            stdout.Flush();
        }
        return 0;
    }
}
