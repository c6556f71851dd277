/* What every portal page shares, as a file: the Content-Security-Policy allows no inline script. */
"use strict";

/* A link marked data-follows-address takes the page's current query string when it is
   followed: htmx keeps a list's filters in the address, and an export must follow them. */
document.addEventListener("click", function (event) {
  const link = event.target.closest("a[data-follows-address]");
  if (link) link.search = window.location.search;
});
