using System.Globalization;
using CharRnn.Cli.Arguments;
using CharRnn.Cli.Output;
using CharRnn.Fast.Data;
using CharRnn.Fast.Inference;
using CharRnn.Fast.Model;
using CharRnn.Fast.Training;

namespace CharRnn.Cli.Commands;

/// <summary><c>charrnn eval</c>: mean cross-entropy of a model over a text of any size, in bounded memory.</summary>
internal static class EvalCommand
{
    private const int Chunk = 512; // characters per stream and forward pass: memory is bounded by B × this, whatever the text

    public static readonly Option[] Options =
    [
        new("model", "FILE", "model or checkpoint (required)"),
        new("input", "PATH", "text to evaluate: a UTF-8 file or a directory, repeat for several (concatenated); - reads standard input (required)") { Repeatable = true },
        new("streams", "B", "read the text as B streams, each with its own state, as validation does (default 1: one state across the whole text)"),
        new("threads", "N", "threads: the streams are split among them; with one stream they split the recurrence (H ≥ 256) (default 1)"),
        WeightsChoice.Option(WeightsChoice.StoredFormat + "; see below"),
        new("replace-invalid", null, "replace invalid UTF-8 with U+FFFD instead of stopping"),
        new("json", null, "print {\"event\":\"result\",\"nats_per_char\":…,\"bits_per_char\":…,\"perplexity\":…,\"predictions\":…,\"streams\":…,\"weights\":…}"),
    ];

    public static string HelpText => Help.For("charrnn eval --model FILE --input PATH [--streams B] [--threads N] [--weights FORMAT] [--replace-invalid] [--json]",
        "Reports the mean cross-entropy of the model's next-character predictions over the text: nats/char, bits/char,\n" +
        "perplexity and the number of predictions. By default (--streams 1) every prediction of the text counts, the hidden\n" +
        "state starting at zero and carried across the whole text. --streams B cuts the N characters into B contiguous\n" +
        "shards of ⌊(N−1)/B⌋ (the training data order), each read from a zero state: B·⌊(N−1)/B⌋ predictions, B times the\n" +
        "parallel work; the result differs slightly from one stream's (B − 1 more starts from zero, up to B − 1 fewer\n" +
        "predictions at the end). Lines models see the text framed as in training (every non-empty line between \\n).", Options,
        "The text is tokenized into a token store beside it (reused later, as train does; standard input goes to a temporary\n" +
        "store) and read in chunks, so memory does not grow with the text. A terminal shows progress on stderr.\n" +
        "--weights measures the accuracy of a weight format. f32 evaluates the model's floats (for a compact file, the\n" +
        "values it stores) T positions per product. bf16 and int8 evaluate on the generation path: each prediction is the\n" +
        "logits charrnn sample computes after feeding the text so far, one character at a time with those weights (int8\n" +
        "also rounds each product's input to int8), so it runs at generation speed; with f32 weights the two agree to\n" +
        "float rounding. A model file evaluates in the format it stores unless --weights says otherwise.\n" +
        "\n" + CorpusText.InputOrderHelp);

    public static int Run(ParsedArguments a)
    {
        string modelPath = a.String("model") ?? throw new UsageException("--model FILE is required");
        var inputs = a.Strings("input");
        if (inputs.Count == 0) throw new UsageException("--input FILE is required");
        int streams = a.Int("streams", 1, 1, 100_000);
        int threads = a.Has("threads") ? ThreadCount.Read(a) : 1;
        bool json = a.Has("json");
        var weights = WeightsChoice.Read(a);
        var loaded = Inputs.LoadModel(modelPath);
        var model = loaded.Model;
        var format = weights ?? loaded.StoredWeights;
        using var corpus = CorpusText.Open(inputs, model.SequenceMode, a.Has("replace-invalid"), mb => TaskProgress.OnTerminal(json, "tokenizing", mb, "MB/s"));
        var tokens = corpus.In(model.Vocabulary, $"{corpus.Name} does not fit the model");
        if (tokens.Length < streams + 1L)
            throw new CommandError($"{corpus.Name} has {tokens.Length} character(s): evaluation{(streams > 1 ? $" of {streams} streams" : "")} needs at least {streams + 1}");

        long predictions = streams * ((tokens.Length - 1) / streams);
        var progress = TaskProgress.OnTerminal(json, "evaluating", predictions, "chars/s");
        Action<long>? report = progress is null ? null : done => progress.Report((double)done / predictions);
        Evaluation e;
        try
        {
            if (format == WeightFormat.F32)
            {
                using var evaluator = new BatchedEvaluator(model, streams, (int)Math.Min(Chunk, (tokens.Length - 1) / streams), threads);
                e = evaluator.Evaluate(tokens, progress: report);
            }
            else
            {
                using var evaluator = new GenerationEvaluator(new InferenceModel(model, weights: format), streams, threads);
                e = evaluator.Evaluate(tokens, report);
            }
        }
        catch (TokenStoreFormatException error) { throw new CommandError(error.Message); } // the store changed while read
        progress?.Finish();
        if (!double.IsFinite(e.NatsPerChar))
            throw new CommandError($"the model's loss over this text is {e.NatsPerChar.ToString(CultureInfo.InvariantCulture)}: its outputs overflow (weights of a diverged run), so it cannot be measured");
        if (json)
            JsonLine.Write(w =>
            {
                w.WriteString("event", "result"); w.WriteNumber("nats_per_char", e.NatsPerChar); w.WriteNumber("bits_per_char", e.BitsPerChar);
                w.WriteMeasure("perplexity", e.Perplexity); w.WriteNumber("predictions", e.Predictions); w.WriteNumber("streams", streams);
                w.WriteString("weights", format.Name());
            });
        else
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{e.NatsPerChar:F6} nats/char  {e.BitsPerChar:F6} bits/char  perplexity {JsonMeasures.Perplexity(e.Perplexity, 4)}  over {e.Predictions} predictions") +
                (streams > 1 ? $" in {streams} streams" : "") + (format == WeightFormat.F32 ? "" : $" ({format.Name()} weights)"));
        return 0;
    }
}
