using CharRnn.Cli.Arguments;
using CharRnn.Fast.Model;

namespace CharRnn.Cli.Commands;

/// <summary>The <c>--weights f32|bf16|int8</c> option of sample, eval and bench: how generation holds the weights.</summary>
internal static class WeightsChoice
{
    /// <summary>The option, its help line ending with <paramref name="fallback"/> (what applies when it is absent).</summary>
    public static Option Option(string fallback)
        => new("weights", "FORMAT", $"f32, bf16 or int8: the format generation holds the weight matrices in (default: {fallback})");

    /// <summary>What a model file's default means, for help texts.</summary>
    public const string StoredFormat = "the format the model file stores: f32, or bf16 / int8 for a file from charrnn quantize";

    /// <summary>--weights as given, or null when absent; an unknown name is a <see cref="UsageException"/> (checked before any file is read).</summary>
    public static WeightFormat? Read(ParsedArguments a)
    {
        if (a.String("weights") is not { } text) return null;
        return WeightFormats.TryParse(text, out var format) ? format : throw new UsageException($"--weights must be f32, bf16 or int8, got '{text}'");
    }
}
