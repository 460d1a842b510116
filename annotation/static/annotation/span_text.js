// Text offsets and tokens for the span editor: code point <-> UTF-16 tables, token boundaries, small helpers.
// Offsets are kept in Unicode code points, as the server counts them; the DOM counts UTF-16 units.
(function () {
  "use strict";

  // A token is a run of letters, digits and combining marks, or one other visible character.
  var TOKEN = /[\p{L}\p{N}\p{M}]+|[^\s\p{L}\p{N}\p{M}]/gu;

  function lowerBound(array, value) {
    // First index whose element is >= value.
    var low = 0;
    var high = array.length;
    while (low < high) {
      var middle = (low + high) >>> 1;
      if (array[middle] < value) {
        low = middle + 1;
      } else {
        high = middle;
      }
    }
    return low;
  }

  function clamp(value, low, high) {
    return Math.max(low, Math.min(high, value));
  }

  // Text offsets: code point <-> UTF-16 tables and the token boundaries, built once per item.
  function TextIndex(text) {
    var units = text.length;
    var cpOfUnit = new Int32Array(units + 1);
    var unitOfCp = new Int32Array(units + 1);
    var cp = 0;
    var unit = 0;
    while (unit < units) {
      var code = text.charCodeAt(unit);
      var pair = code >= 0xd800 && code <= 0xdbff && unit + 1 < units &&
        (text.charCodeAt(unit + 1) & 0xfc00) === 0xdc00;
      unitOfCp[cp] = unit;
      cpOfUnit[unit] = cp;
      if (pair) {
        cpOfUnit[unit + 1] = cp;
      }
      unit += pair ? 2 : 1;
      cp += 1;
    }
    cpOfUnit[units] = cp;
    unitOfCp[cp] = units;
    this.text = text;
    this.units = units;
    this.length = cp;
    this.cpOfUnit = cpOfUnit;
    this.unitOfCp = unitOfCp;

    var starts = [];
    var ends = [];
    var match;
    TOKEN.lastIndex = 0;
    while ((match = TOKEN.exec(text)) !== null) {
      starts.push(cpOfUnit[match.index]);
      ends.push(cpOfUnit[match.index + match[0].length]);
    }
    this.starts = Int32Array.from(starts);
    this.ends = Int32Array.from(ends);
  }

  // The code point an end offset falls on, rounding a position inside a surrogate pair up.
  TextIndex.prototype.cpEnd = function (unit) {
    var cp = this.cpOfUnit[unit];
    return unit > 0 && cp === this.cpOfUnit[unit - 1] ? cp + 1 : cp;
  };

  // The tokens a code point range touches: {first, last} token indices, or null for blank text.
  TextIndex.prototype.tokensIn = function (start, end) {
    var first = lowerBound(this.ends, start + 1);
    var last = lowerBound(this.starts, end) - 1;
    return first <= last ? { first: first, last: last } : null;
  };

  TextIndex.prototype.slice = function (start, end) {
    return this.text.slice(this.unitOfCp[start], this.unitOfCp[end]);
  };

  function overlaps(a, b) {
    return a.start < b.end && b.start < a.end;
  }

  function sameSpan(a, b) {
    return a.start === b.start && a.end === b.end && a.label === b.label;
  }

  function byPosition(a, b) {
    return a.start - b.start || b.end - a.end || (a.suggested ? 1 : 0) - (b.suggested ? 1 : 0);
  }

  function readableInk(colour) {
    // Dark text on light label colours, white on dark ones (relative luminance, WCAG formula).
    var match = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(colour || "");
    if (!match) {
      return "#ffffff";
    }
    var channels = match.slice(1).map(function (hex) {
      var value = parseInt(hex, 16) / 255;
      return value <= 0.03928 ? value / 12.92 : Math.pow((value + 0.055) / 1.055, 2.4);
    });
    var luminance = 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2];
    return luminance > 0.4 ? "#1f2933" : "#ffffff";
  }

  function parseJson(raw, fallback) {
    try {
      return raw ? JSON.parse(raw) : fallback;
    } catch (error) {
      return fallback;
    }
  }

  window.Labelling = window.Labelling || {};
  window.Labelling.text = {
    TextIndex: TextIndex,
    lowerBound: lowerBound,
    clamp: clamp,
    overlaps: overlaps,
    sameSpan: sameSpan,
    byPosition: byPosition,
    readableInk: readableInk,
    parseJson: parseJson,
  };
})();
