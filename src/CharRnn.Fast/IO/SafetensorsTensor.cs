namespace CharRnn.Fast.IO;

/// <summary>
/// A named tensor: row-major <see cref="Data"/> of shape <see cref="Shape"/> (an empty shape is a scalar), held as
/// floats whatever <see cref="DType"/> the file stores: F32, or BF16 and I8 for compact weights (whose values are then
/// exactly representable: bfloat16 numbers, integers in [−127, 127]).
/// </summary>
public sealed record SafetensorsTensor(string Name, int[] Shape, float[] Data)
{
    /// <summary>The file's element type: "F32" (default), "BF16" or "I8"; read files also report "F64" and "F16".</summary>
    public string DType { get; init; } = "F32";

    /// <summary>Product of the dimensions (1 for a scalar).</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, d) => a * d);
}

/// <summary>A model or checkpoint file is not what it should be; the message says what is wrong.</summary>
public sealed class CheckpointFormatException(string message) : Exception(message);

/// <summary>An input text file is missing, empty or not valid UTF-8; the message says where and what to do.</summary>
public sealed class TextInputException(string message) : Exception(message);
