using CharRnn.Cli.Arguments;
using CharRnn.Cli.Output;
using CharRnn.Fast.IO;
using CharRnn.Fast.Model;

namespace CharRnn.Cli.Commands;

/// <summary><c>charrnn quantize</c>: a compact copy of a model for generation (bf16 or int8 weights).</summary>
internal static class QuantizeCommand
{
    public static readonly Option[] Options =
    [
        new("model", "FILE", "model or checkpoint to read (required)"),
        new("out", "FILE", "the compact model file to write (required)"),
        new("weights", "FORMAT", "bf16 (round to nearest even) or int8 (symmetric, one scale per row) (required)"),
        new("json", null, "print {\"event\":\"quantized\",…} with the file sizes"),
    ];

    public static string HelpText => Help.For("charrnn quantize --model FILE --out OUT --weights bf16|int8",
        "Writes a compact model file for generation: every W_hh, the W_ih of layers above 0 and the output layer's W\n" +
        "(the matrices a generated character streams) as BF16, or as I8 with an F32 '<name>.scale' tensor (one scale per\n" +
        "row); biases and layer 0's input table stay F32. sample, eval, bench --latency and the C library load it like any\n" +
        "model (the weights read back as float); training state is not kept.", Options);

    public static int Run(ParsedArguments a)
    {
        string input = a.String("model") ?? throw new UsageException("--model FILE is required");
        string output = a.String("out") ?? throw new UsageException("--out FILE is required");
        string name = a.String("weights") ?? throw new UsageException("--weights bf16|int8 is required");
        if (!WeightFormats.TryParse(name, out var format) || format == WeightFormat.F32)
            throw new UsageException($"--weights must be bf16 or int8, got '{name}'");
        var loaded = Inputs.LoadModel(input);
        var metadata = loaded.Metadata.Where(kv => !IsTrainingKey(kv.Key)).ToDictionary();
        try { Checkpoint.SaveCompact(output, loaded.Model, format, metadata); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new CommandError($"cannot write '{output}': {e.Message}"); }
        long before = new FileInfo(input).Length, after = new FileInfo(output).Length;
        if (a.Has("json"))
            JsonLine.Write(w =>
            {
                w.WriteString("event", "quantized"); w.WriteString("weights", format.Name()); w.WriteString("model", output);
                w.WriteNumber("input_bytes", before); w.WriteNumber("output_bytes", after);
            });
        else Console.Out.WriteLine($"wrote {output}: {format.Name()} weights, {after:N0} bytes (the input file: {before:N0})");
        return 0;
    }

    // Training state does not survive quantization: the compact file is a model.
    private static bool IsTrainingKey(string key)
        => key is CheckpointKeys.Optimizer or CheckpointKeys.Step or CheckpointKeys.Epoch or CheckpointKeys.Cursor or CheckpointKeys.SmoothLoss
            or CheckpointKeys.OptimizerSteps or CheckpointKeys.RngState or CheckpointKeys.RunId;
}
