/* The demo shop's pages: a picture that cannot load leaves its placeholder (and alt text) instead. */
(function () {
  "use strict";
  function broken(img) {
    var frame = img.closest(".thumb");
    if (frame) frame.classList.add("no-image");
    img.remove();
  }
  document.addEventListener("error", function (event) {
    var target = event.target;
    if (target && target.tagName === "IMG" && target.closest(".thumb")) broken(target);
  }, true);
  function check() {
    document.querySelectorAll(".thumb img").forEach(function (img) {
      if (img.complete && img.naturalWidth === 0) broken(img);
    });
    document.querySelectorAll(".thumb").forEach(function (frame) {
      if (!frame.querySelector("img")) frame.classList.add("no-image");
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", check);
  else check();
})();
