// IHttpTransport on UnityWebRequest, for iOS and Android (where the native
// library is built without libcurl) and any platform that prefers Unity's
// stack. Driven from the main thread: Tracker.Poll (in Update) starts each
// request here and ends it once UnityWebRequest.isDone, through
// PolledHttpTransport, the path the Mono tests run with HttpClientTransport.
// Compiled only by Unity (and here against Tests/UnityStubs, by ctest's
// unity_defines_compile); not run here.

#if UNITY_5_3_OR_NEWER
using System;
using System.Collections.Generic;
using UnityEngine.Networking;

namespace Attracker
{
    /// <summary>
    /// Sends each request with a UnityWebRequest. Main thread only (Unity's
    /// rule; Poll calls Begin there). Redirects are not followed: a 3xx is a
    /// captive portal's answer, which the library keeps as "not reached".
    /// </summary>
    [Preserve]
    public sealed class UnityWebRequestTransport : IHttpTransport
    {
        /// <summary>UnityWebRequest.timeout for each exchange, in seconds (0: none).</summary>
        public int TimeoutSeconds = 30;

        public IHttpExchange Begin(HttpRequestData request)
        {
            if (request == null)
                throw new ArgumentNullException(nameof(request));
            var www = new UnityWebRequest(request.Url, request.Method);
            try
            {
                www.redirectLimit = 0;
                www.timeout = TimeoutSeconds;
                www.downloadHandler = new DownloadHandlerBuffer();
                if (request.Body.Length > 0)
                    www.uploadHandler = new UploadHandlerRaw(request.Body);
                foreach (KeyValuePair<string, string> h in request.Headers)
                {
                    www.SetRequestHeader(h.Key, h.Value);
                    if (www.uploadHandler != null && string.Equals(h.Key, "Content-Type", StringComparison.OrdinalIgnoreCase))
                        www.uploadHandler.contentType = h.Value;
                }
                www.SendWebRequest();
                return new Exchange(www);
            }
            catch
            {
                www.Dispose();
                throw;
            }
        }

        sealed class Exchange : IHttpExchange
        {
            readonly UnityWebRequest www;

            internal Exchange(UnityWebRequest www)
            {
                this.www = www;
            }

            public bool IsDone => www.isDone;

            // 0 when no answer arrived (no connection, DNS, TLS, timeout).
            public int StatusCode => (int)www.responseCode;

            public string Error => www.error;

            public string GetResponseHeader(string name) => www.GetResponseHeader(name);

            // A request still running is aborted (the tracker closed).
            public void Dispose()
            {
                if (!www.isDone)
                    www.Abort();
                www.Dispose();
            }
        }
    }
}
#endif
