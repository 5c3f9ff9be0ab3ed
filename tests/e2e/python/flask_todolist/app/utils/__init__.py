from flask import Blueprint

utils = Blueprint("utils", __name__)

from . import errors, filters
