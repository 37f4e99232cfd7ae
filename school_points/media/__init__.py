"""Images: uploads from the mini-program (checked, re-encoded, stored, daily quota) and photos
fetched from WeChat's media API for official-account check-ins."""
