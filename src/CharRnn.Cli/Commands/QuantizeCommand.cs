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
        new("out", "FILE", "the compact model file to write (required); never MODEL itself, a file that is not a model or a training run's checkpoint") { Short = 'o' },
        new("weights", "FORMAT", "bf16 (round to nearest even) or int8 (symmetric, one scale per row) (required)"),
        new("json", null, "print {\"event\":\"quantized\",\"weights\":…,\"model\":…,\"input_bytes\":…,\"output_bytes\":…}"),
    ];

    public static string HelpText => Help.For("charrnn quantize MODEL -o OUT --weights bf16|int8 [--json]",
        "Writes a compact copy of the model file MODEL for generation: every W_hh, the W_ih of layers above 0 and the\n" +
        "output layer's W (the matrices a generated character streams) as BF16, or as I8 with an F32 '<name>.scale' tensor\n" +
        "(one symmetric scale per row: w = q·scale); biases and layer 0's input table stay F32; training state is not kept.\n" +
        "sample, eval, bench --latency and the C library load it like any model and generate in the format it stores\n" +
        "(their --weights chooses another; f32 then holds the values the file stands for).", Options);

    public static int Run(ParsedArguments a)
    {
        if (a.Positional.Count != 1) throw new UsageException("give the model to quantize: charrnn quantize MODEL -o OUT --weights bf16|int8");
        string input = a.Positional[0];
        string output = a.String("out") ?? throw new UsageException("-o OUT is required: the compact model file to write");
        string name = a.String("weights") ?? throw new UsageException("--weights bf16|int8 is required");
        // the file a write to -o replaces, through symbolic links (which a write follows)
        if (FileIdentity.Same(output, input)) throw new UsageException("the output would replace the model: give -o another file");
        if (!WeightFormats.TryParse(name, out var format) || format == WeightFormat.F32)
            throw new UsageException($"--weights must be bf16 or int8, got '{name}'");
        ReplaceCheck.OnlyModel(output, "-o");
        ReplaceCheck.NoTrainingState(output, "-o");
        var loaded = Inputs.LoadModel(input);
        var metadata = loaded.Metadata.Where(kv => !IsTrainingKey(kv.Key)).ToDictionary();
        long before = new FileInfo(input).Length;
        try { Checkpoint.SaveCompact(output, loaded.Model, format, metadata); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new CommandError($"cannot write '{output}': {FileErrors.Reason(e, output)}"); }
        long after = new FileInfo(FileIdentity.Target(output) ?? output).Length;
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
