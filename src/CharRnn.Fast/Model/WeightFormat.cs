namespace CharRnn.Fast.Model;

/// <summary>
/// How the weight matrices a generation step streams (every W_hh, the W_ih of layers above 0 and the output layer's W)
/// are held for inference and in compact model files: f32, bfloat16 (round to nearest even), or int8 with one symmetric
/// scale per row of W. Biases and layer 0's gathered input table stay f32.
/// </summary>
public enum WeightFormat
{
    F32,
    Bf16,
    Int8,
}

/// <summary>Names of <see cref="WeightFormat"/>s: <c>f32</c>, <c>bf16</c>, <c>int8</c>.</summary>
public static class WeightFormats
{
    public static string Name(this WeightFormat format) => format switch
    {
        WeightFormat.Bf16 => "bf16",
        WeightFormat.Int8 => "int8",
        _ => "f32",
    };

    public static bool TryParse(string? text, out WeightFormat format)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case "f32": format = WeightFormat.F32; return true;
            case "bf16": format = WeightFormat.Bf16; return true;
            case "int8": format = WeightFormat.Int8; return true;
            default: format = WeightFormat.F32; return false;
        }
    }
}
