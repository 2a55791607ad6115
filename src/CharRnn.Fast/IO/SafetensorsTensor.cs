namespace CharRnn.Fast.IO;

/// <summary>A named F32 tensor: row-major <see cref="Data"/> of shape <see cref="Shape"/> (an empty shape is a scalar).</summary>
public sealed record SafetensorsTensor(string Name, int[] Shape, float[] Data)
{
    /// <summary>Product of the dimensions (1 for a scalar).</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, d) => a * d);
}

/// <summary>A model or checkpoint file is not what it should be; the message says what is wrong.</summary>
public sealed class CheckpointFormatException(string message) : Exception(message);

/// <summary>An input text file is missing, empty or not valid UTF-8; the message says where and what to do.</summary>
public sealed class TextInputException(string message) : Exception(message);
