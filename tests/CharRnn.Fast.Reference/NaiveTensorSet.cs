namespace CharRnn.Fast.Tests.Reference;

/// <summary>A set of parameter-shaped double arrays (weights, gradients or optimizer moments), in one fixed order.</summary>
public interface INaiveTensorSet
{
    /// <summary>Every tensor, in the same order for the weights, their gradients and the moments.</summary>
    IEnumerable<double[]> All { get; }
}
