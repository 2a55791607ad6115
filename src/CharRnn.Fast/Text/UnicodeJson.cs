using System.Text.Json;

namespace CharRnn.Fast.Text;

/// <summary>
/// JSON from untrusted files, parsed so that every name and string in it is Unicode text. System.Text.Json accepts an
/// escaped lone surrogate ("\ud800" with no low surrogate after it, "\udc00" alone) when it parses, and throws
/// <see cref="InvalidOperationException"/> only when that string is read: for a model file, an internal error in
/// whichever reader comes to it. Here it is a <see cref="JsonException"/>, the parse's own error, before anything reads.
/// </summary>
internal static class UnicodeJson
{
    /// <summary>Parses <paramref name="utf8"/>; a syntax error or a string that is no Unicode text throws <see cref="JsonException"/>.</summary>
    public static JsonDocument Parse(ReadOnlyMemory<byte> utf8, JsonDocumentOptions options = default) => Checked(JsonDocument.Parse(utf8, options));

    /// <summary>Parses <paramref name="json"/>; a syntax error or a string that is no Unicode text throws <see cref="JsonException"/>.</summary>
    public static JsonDocument Parse(string json) => Checked(JsonDocument.Parse(json));

    private static JsonDocument Checked(JsonDocument document)
    {
        try { CheckStrings(document.RootElement, member: null); }
        catch
        {
            document.Dispose();
            throw;
        }
        return document;
    }

    /// <summary>Reads every name and string below <paramref name="element"/>; <paramref name="member"/> is the name it is under, for the message.</summary>
    private static void CheckStrings(JsonElement element, string? member)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    string name;
                    try { name = property.Name; }
                    catch (InvalidOperationException) { throw LoneSurrogate("a name"); }
                    CheckStrings(property.Value, name);
                }
                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray()) CheckStrings(item, member);
                break;
            case JsonValueKind.String:
                try { element.GetString(); }
                catch (InvalidOperationException) { throw LoneSurrogate(member is null ? "a string" : $"a string in '{member}'"); }
                break;
        }
    }

    private static JsonException LoneSurrogate(string what)
        => new($"{what} escapes a lone surrogate: \\ud800–\\udfff stand for a character only as a high-low pair");
}
