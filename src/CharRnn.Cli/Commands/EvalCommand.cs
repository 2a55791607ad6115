using System.Globalization;
using CharRnn.Cli.Arguments;
using CharRnn.Cli.Output;
using CharRnn.Fast.Training;

namespace CharRnn.Cli.Commands;

/// <summary><c>charrnn eval</c>: mean cross-entropy of a model over a text file.</summary>
internal static class EvalCommand
{
    public static readonly Option[] Options =
    [
        new("model", "FILE", "model or checkpoint (required)"),
        new("input", "FILE", "text to evaluate, UTF-8; - reads standard input (required)"),
        new("replace-invalid", null, "replace invalid UTF-8 with U+FFFD instead of stopping"),
        new("json", null, "print {\"event\":\"result\",\"nats_per_char\":…,\"bits_per_char\":…,\"perplexity\":…,\"predictions\":…}"),
    ];

    public static string HelpText => Help.For("charrnn eval --model FILE --input FILE [--json]",
        "Reports the mean cross-entropy over every next-character prediction of the file (the hidden state starts at zero\n" +
        "and is carried across the whole file): nats/char, bits/char, perplexity and the number of predictions.\n" +
        "Lines models see the file framed as in training (every non-empty line between \\n boundaries).", Options);

    public static int Run(ParsedArguments a)
    {
        string modelPath = a.String("model") ?? throw new UsageException("--model FILE is required");
        string inputPath = a.String("input") ?? throw new UsageException("--input FILE is required");
        var model = Inputs.LoadModel(modelPath).Model;
        string text = Inputs.ReadText(inputPath, a.Has("replace-invalid"));
        if (model.SequenceMode) text = Inputs.FrameLines(text);
        var tokens = Inputs.Encode(model.Vocabulary, text, $"{Inputs.NameOf(inputPath)} does not fit the model");
        if (tokens.Length < 2) throw new CommandError($"{Inputs.NameOf(inputPath)} has {tokens.Length} character(s): evaluation needs at least 2");
        var e = Evaluator.Evaluate(model, tokens);
        if (a.Has("json"))
            JsonLine.Write(w => { w.WriteString("event", "result"); w.WriteNumber("nats_per_char", e.NatsPerChar); w.WriteNumber("bits_per_char", e.BitsPerChar); w.WriteNumber("perplexity", e.Perplexity); w.WriteNumber("predictions", e.Predictions); });
        else
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{e.NatsPerChar:F6} nats/char  {e.BitsPerChar:F6} bits/char  perplexity {e.Perplexity:F4}  over {e.Predictions} predictions"));
        return 0;
    }
}
