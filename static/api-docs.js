// Starts Swagger UI on the OpenAPI document the app serves. A file rather than an inline
// script, so the page's CSP can forbid inline scripts.
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.spec,
    domNode: root,
    deepLinking: true,
    validatorUrl: null, // the default sends the document to validator.swagger.io
    presets: [SwaggerUIBundle.presets.apis],
  });
});
