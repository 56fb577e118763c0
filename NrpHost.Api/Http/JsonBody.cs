using System.Buffers;
using System.Globalization;
using System.Text.Json;
using NrpHost.Api.Contracts;

namespace NrpHost.Api.Http;

/// <summary>
/// Reads a request body as one JSON object whatever its <c>Content-Type</c> says (the NRP backend force-parses
/// bodies, and clients send <c>text/plain</c> or nothing as often as <c>application/json</c>). Bad bodies are
/// NRP errors: 400 for empty, malformed or non-object JSON, 413 above the size limit.
/// </summary>
internal static class JsonBody
{
    private static readonly JsonDocumentOptions ParseOptions = new() { MaxDepth = 32 };

    public static async Task<(JsonElement Body, NrpErrorResult? Error)> ReadObjectAsync(HttpRequest request, int maxBytes)
    {
        if (request.ContentLength > maxBytes)
        {
            return (default, TooLarge(maxBytes));
        }

        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(maxBytes + 1, 16 * 1024));
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length > maxBytes)
                    {
                        return (default, TooLarge(maxBytes));
                    }

                    var larger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, maxBytes + 1));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                var read = await request.Body.ReadAsync(buffer.AsMemory(length), request.HttpContext.RequestAborted).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                length += read;
                if (length > maxBytes)
                {
                    return (default, TooLarge(maxBytes));
                }
            }

            if (length == 0)
            {
                return (default, BadRequest(ErrorResponse.Client("The request body is empty: a JSON object is expected.")));
            }

            JsonElement root;
            try
            {
                using var document = JsonDocument.Parse(buffer.AsMemory(0, length), ParseOptions);
                root = document.RootElement.Clone();
            }
            catch (JsonException ex)
            {
                return (default, BadRequest(ErrorResponse.Client("The request body is not valid JSON.", ex.Message)));
            }

            return root.ValueKind == JsonValueKind.Object
                ? (root, null)
                : (default, BadRequest(ErrorResponse.Client("The request body must be a JSON object.")));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static NrpErrorResult BadRequest(ErrorResponse error) => new(StatusCodes.Status400BadRequest, error);

    private static NrpErrorResult TooLarge(int maxBytes) => new(StatusCodes.Status413PayloadTooLarge,
        ErrorResponse.Client(string.Create(CultureInfo.InvariantCulture, $"The request body is too large (at most {maxBytes} bytes).")));
}
