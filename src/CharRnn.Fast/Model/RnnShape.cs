namespace CharRnn.Fast.Model;

/// <summary>Hidden nonlinearity of the recurrent cell.</summary>
public enum Nonlinearity
{
    Tanh,
    Relu,
}

/// <summary>Sizes of a vanilla RNN: input I (V for characters), hidden H, output O (V for characters).</summary>
public readonly record struct RnnShape(int InputSize, int HiddenSize, int OutputSize)
{
    /// <summary>I·H + H·H + H + O·H + O.</summary>
    public long ParameterCount => (long)InputSize * HiddenSize + (long)HiddenSize * HiddenSize + HiddenSize + (long)OutputSize * HiddenSize + OutputSize;

    /// <summary>The shape of a character model over a vocabulary of <paramref name="vocabularySize"/>.</summary>
    public static RnnShape ForCharacters(int vocabularySize, int hiddenSize) => new(vocabularySize, hiddenSize, vocabularySize);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> unless every size is in 1..65536 and the block fits one array.</summary>
    public void Validate()
    {
        if (InputSize is < 1 or > 1 << 20) throw new ArgumentOutOfRangeException(nameof(InputSize), InputSize, "input size must be in 1..1048576");
        if (HiddenSize is < 1 or > 1 << 16) throw new ArgumentOutOfRangeException(nameof(HiddenSize), HiddenSize, "hidden size must be in 1..65536");
        if (OutputSize is < 1 or > 1 << 20) throw new ArgumentOutOfRangeException(nameof(OutputSize), OutputSize, "output size must be in 1..1048576");
        if (ParameterCount > Array.MaxLength) throw new ArgumentOutOfRangeException(nameof(HiddenSize), HiddenSize, $"{ParameterCount} parameters do not fit one array");
    }
}
